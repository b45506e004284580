"""FastAPI router for this feature (filled in by its issue)."""

from fastapi import APIRouter

router = APIRouter()
