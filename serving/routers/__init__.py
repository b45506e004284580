"""One APIRouter per resource; handlers are thin and call `serving.services`."""
