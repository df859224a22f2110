VIEWER = "{ viewer { kind organization { id name domain } consumer { issuer } } }"


async def test_viewer_as_consumer_names_its_organization(vendor):
    data = await vendor.gql(VIEWER)
    assert data["viewer"]["kind"] == "CONSUMER"
    assert data["viewer"]["organization"]["domain"] == vendor.organization.domain
    assert data["viewer"]["consumer"]["issuer"] == vendor.consumer.issuer
