from tests.api import OUTREACH, planned_visit, post, tenant_in_follow_up


def test_completed_visit_shows_in_timeline(client):
    tenant_id = tenant_in_follow_up(client)
    visit_id = planned_visit(client, tenant_id)
    result = post(
        client,
        f"/visits/{visit_id}/completion",
        {"worker_ids": [OUTREACH["x-folgja-user"]], "observations": {"wellbeing": "fair"}},
    )
    timeline = client.get(
        f"/tenants/{tenant_id}/timeline", params={"min_position": result["position"]}
    )
    assert timeline.status_code == 200, timeline.text
    types = [e["event_type"] for e in timeline.json()]
    assert types == ["TenantRegistered", "FollowUpStarted", "VisitPlanned", "VisitCompleted"]
