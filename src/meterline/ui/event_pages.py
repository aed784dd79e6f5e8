"""Dashboard pages: event_pages (to be written)."""

from fastapi import APIRouter

from meterline.ui.render import UiRoute

router = APIRouter(route_class=UiRoute)
