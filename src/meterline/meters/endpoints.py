"""HTTP only: parse, call the service, answer in Vayu's shapes."""

from typing import Annotated

from fastapi import Depends

from meterline.db.session import Conn
from meterline.kit.auth import CurrentAccount
from meterline.kit.pagination import PageRequest, page_request
from meterline.kit.routing import JSONResp, PathId, make_router, ok
from meterline.meters import service
from meterline.meters.schemas import (
    DeleteMeterResponse,
    ListMetersResponse,
    MeterCreate,
    MeterResponse,
    MeterUpdate,
)

router = make_router(tags=["meters"])

MeterId = PathId


@router.post("/meters", operation_id="createMeter", response_model=MeterResponse, summary="Create Meter (extension)")
def create_meter(body: MeterCreate, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"meter": service.create(conn, account_id=account.account_id, data=body)})


@router.get("/meters", operation_id="listMeters", response_model=ListMetersResponse, summary="List Meters")
def list_meters(conn: Conn, account: CurrentAccount, page: Annotated[PageRequest, Depends(page_request)]) -> JSONResp:
    return ok(service.list_page(conn, account_id=account.account_id, page=page).body("meters"))


@router.get("/meters/{meterId}", operation_id="getMeter", response_model=MeterResponse, summary="Get Meter")
def get_meter(meterId: MeterId, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"meter": service.get(conn, account_id=account.account_id, meter_id=meterId.lower())})


@router.put("/meters/{meterId}", operation_id="updateMeter", response_model=MeterResponse, summary="Update Meter")
def update_meter(meterId: MeterId, body: MeterUpdate, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"meter": service.update(conn, account_id=account.account_id, meter_id=meterId.lower(), data=body)})


@router.delete(
    "/meters/{meterId}", operation_id="deleteMeter", response_model=DeleteMeterResponse, summary="Delete Meter"
)
def delete_meter(meterId: MeterId, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"meter": service.delete(conn, account_id=account.account_id, meter_id=meterId.lower())})
