"""Includes the routers; nothing else."""

from fastapi import APIRouter

from dashboard_api.api.routes import health, live

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(live.router)
