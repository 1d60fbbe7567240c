"""The write model's service layer, one module per area of the domain.

Each module is a mixin of use cases on :class:`domain.usecases.base.UseCases`: load the
aggregates a command needs, ask the pure rules, store the events they return.
:class:`domain.application.FollowUpApplication` assembles them.
"""
