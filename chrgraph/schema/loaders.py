"""DataLoaders, fresh for each request (statements per request do not grow with a
list's length)."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from chrgraph.resolvers import loaders as batches

_LOAD_FUNCTIONS = {
    "keys_by_consumer": batches.keys_by_consumer,
    "organization": batches.organizations,
    "consumer": batches.consumers,
    "user": batches.users,
    "roles_by_user": batches.roles_by_user,
    "role_permissions": batches.role_permissions,
    "extra_permissions": batches.extra_permissions,
    "role_members": batches.role_members,
    "patient": batches.patients,
    "license_changes": batches.license_changes,
    "identifiers_by_patient": batches.identifiers_by_patient,
    "questionnaires_by_appointment": batches.questionnaires_by_appointment,
}


class Loaders(dict):
    """The request's DataLoaders, each made on first use: most requests need one or two,
    and making all of them for every request was measurable (docs/performance.md)."""

    def __missing__(self, name: str) -> DataLoader:
        loader = self[name] = DataLoader(_LOAD_FUNCTIONS[name])  # type: ignore[arg-type]  # batch functions take any iterable
        return loader


def make_loaders() -> dict[str, DataLoader]:
    return Loaders()
