"""HTTP only: measurements in Vayu's shapes."""

from typing import Annotated

from fastapi import Depends, Query

from meterline.db.session import Conn
from meterline.kit.auth import CurrentAccount
from meterline.kit.ids import ID_PATTERN
from meterline.kit.openapi import errors
from meterline.kit.pagination import PageRequest, page_request
from meterline.kit.routing import JSONResp, PathId, make_router, ok
from meterline.measurements import service
from meterline.measurements.schemas import (
    DeleteMeasurementResponse,
    ListMeasurementsResponse,
    MeasurementCreate,
    MeasurementResponse,
)

router = make_router(tags=["measurements"])

MeasurementId = PathId


@router.post(
    "/measurements",
    operation_id="createMeasurement",
    responses=errors(404),
    response_model=MeasurementResponse,
    summary="Create Measurement",
)
def create_measurement(body: MeasurementCreate, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"measurement": service.upsert(conn, account_id=account.account_id, data=body)})


@router.get(
    "/measurements",
    operation_id="listMeasurements",
    response_model=ListMeasurementsResponse,
    summary="List Measurements",
)
def list_measurements(
    conn: Conn,
    account: CurrentAccount,
    page: Annotated[PageRequest, Depends(page_request)],
    customerId: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    meterId: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
) -> JSONResp:
    result = service.list_page(
        conn,
        account_id=account.account_id,
        customer_id=customerId.lower() if customerId else None,
        meter_id=meterId.lower() if meterId else None,
        page=page,
    )
    return ok(result.body("measurements"))


@router.get(
    "/measurements/{measurementId}",
    operation_id="getMeasurement",
    response_model=MeasurementResponse,
    summary="Get Measurement",
)
def get_measurement(measurementId: MeasurementId, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"measurement": service.get(conn, account_id=account.account_id, measurement_id=measurementId.lower())})


@router.delete(
    "/measurements/{measurementId}",
    operation_id="deleteMeasurement",
    response_model=DeleteMeasurementResponse,
    summary="Delete Measurement",
)
def delete_measurement(measurementId: MeasurementId, conn: Conn, account: CurrentAccount) -> JSONResp:
    measurement = service.delete(conn, account_id=account.account_id, measurement_id=measurementId.lower())
    return ok({"measurement": measurement})
