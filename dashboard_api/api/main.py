"""Includes the routers; nothing else."""

from fastapi import APIRouter

from dashboard_api.api.routes import (
    admin,
    alerts,
    areas,
    auth,
    drills,
    exports,
    feeds,
    health,
    live,
    metrics,
    ngsi,
    oidc,
    opendata,
    playbooks,
    recipients,
    records,
    settings,
    users,
)
from dashboard_api.schemas.errors import ERROR_RESPONSES

# Every route documents the one error body (ErrorBody) for 401/403/404/409/429/503.
api_router = APIRouter(responses=ERROR_RESPONSES)
for module in (health, live, auth, areas, feeds, alerts, settings, admin, users, metrics):
    api_router.include_router(module.router)
api_router.include_router(recipients.router)
api_router.include_router(ngsi.router)
api_router.include_router(opendata.router)
api_router.include_router(exports.router)
api_router.include_router(playbooks.router)
api_router.include_router(drills.router)
api_router.include_router(records.router)  # the record after an incident
api_router.include_router(oidc.router)  # sign-in through the city's identity provider
