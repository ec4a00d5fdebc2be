"""A custom authorization plugin: only tier leads (and administrators) may close cases."""

from __future__ import annotations

from escalate import Action, Case, Desk, ManualClock, NotAuthorized, Policy, hookimpl


class LeadsClose:
    """Refuses `close` to everyone but the case tier's lead; leaves other decisions alone."""

    @hookimpl
    def escalate_authorize(self, policy: Policy, case: Case | None, action: Action,
                           actor: str | None) -> bool | None:
        """False for a non-lead closing; None (no opinion) otherwise."""
        if action is not Action.CLOSE or case is None or actor in policy.admins:
            return None
        return False if policy.tier(case.tier).lead != actor else None


def main() -> None:
    policy = Policy.from_dict({"ladders": {"support": {"tiers": [
        {"name": "frontline", "members": ["ana", "bo"], "lead": "bo"}]}}})
    desk = Desk(policy, store="memory://", clock=ManualClock(), plugins=[LeadsClose()],
                autoload_plugins=False)
    case = desk.open(title="Password reset", customer="c-9", channel="web")
    desk.claim(case.id, by="ana")
    desk.resolve(case.id, by="ana", resolution="reset link sent")
    try:
        desk.close(case.id, by="ana")
    except NotAuthorized as exc:
        print(f"ana may not close: {exc}")
    closed = desk.close(case.id, by="bo")
    print(f"bo, the lead, closed it: status {closed.status}")


if __name__ == "__main__":
    main()
