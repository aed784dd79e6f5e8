"""HTTP only: plans (POST /plans is Meterline's extension; the official client reads them)."""

from typing import Annotated

from fastapi import Depends

from meterline.db.session import Conn
from meterline.kit.auth import CurrentAccount
from meterline.kit.openapi import errors
from meterline.kit.pagination import PageRequest, page_request
from meterline.kit.routing import JSONResp, PathId, make_router, ok
from meterline.plans import service
from meterline.plans.schemas import DeletePlanResponse, ListPlansResponse, PlanCreate, PlanResponse

router = make_router(tags=["plans"])

PlanId = PathId


@router.post(
    "/plans", operation_id="createPlan", responses=errors(404), response_model=PlanResponse, summary="Create Plan"
)
def create_plan(body: PlanCreate, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"plan": service.create(conn, account_id=account.account_id, data=body)})


@router.get("/plans", operation_id="listPlans", response_model=ListPlansResponse, summary="List Plans")
def list_plans(conn: Conn, account: CurrentAccount, page: Annotated[PageRequest, Depends(page_request)]) -> JSONResp:
    return ok(service.list_page(conn, account_id=account.account_id, page=page).body("plans"))


@router.get("/plans/{planId}", operation_id="getPlan", response_model=PlanResponse, summary="Get Plan")
def get_plan(planId: PlanId, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"plan": service.get(conn, account_id=account.account_id, plan_id=planId.lower())})


@router.delete("/plans/{planId}", operation_id="deletePlan", response_model=DeletePlanResponse, summary="Delete Plan")
def delete_plan(planId: PlanId, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"plan": service.delete(conn, account_id=account.account_id, plan_id=planId.lower())})
