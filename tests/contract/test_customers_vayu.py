"""The official client (vayu-py 0.3.11) against a real server on 127.0.0.1."""

import pytest
from openapi.exceptions import NotFoundException
from vayu_sdk import Vayu

from meterline.db.engine import Database
from tests.conftest import Account, make_account
from tests.support import LiveServer


def test_customer_lifecycle_with_the_official_client(live_server: LiveServer, account: Account, db: Database) -> None:
    vayu = Vayu(api_key=account.api_key, host=live_server.url)
    created = vayu.customers.create(name="Acme", external_id="acme-1", aliases=["acme", "acme-eu"]).customer
    assert created.aliases == ["acme", "acme-eu"] and len(created.id) == 24

    assert vayu.customers.get(created.id).customer.name == "Acme"
    assert vayu.customers.getByExternalId("acme-1").customer.id == created.id
    listed = vayu.customers.list()
    assert [c.id for c in listed.customers] == [created.id] and listed.total == 1 and not listed.has_more

    updated = vayu.customers.update(created.id, name="Acme Corp").customer
    assert updated.name == "Acme Corp" and updated.aliases == ["acme", "acme-eu"]

    other = Vayu(api_key=make_account(db, "other").api_key, host=live_server.url)
    with pytest.raises(NotFoundException):
        other.customers.get(created.id)

    deleted = vayu.customers.delete(created.id).customer
    assert deleted.id == created.id and deleted.deleted_at
    with pytest.raises(NotFoundException):
        vayu.customers.get(created.id)


def test_relations_and_integration_lookup_with_the_official_client(live_server: LiveServer, account: Account) -> None:
    from openapi.models.integration_type import IntegrationType

    vayu = Vayu(api_key=account.api_key, host=live_server.url)
    parent = vayu.customers.create(name="Parent", external_id="p").customer
    child = vayu.customers.create(name="Child", external_id="c").customer
    relation = vayu.customer_relations.create(parent.id, child.id).customer_relation
    assert (relation.vayu_parent_customer_id, relation.vayu_child_customer_id) == (parent.id, child.id)
    assert vayu.customer_relations.get(relation.id).customer_relation.id == relation.id
    found = vayu.customers.get_by_integration_id(IntegrationType.VAYU, parent.id).customer
    assert found is not None and found.id == parent.id
