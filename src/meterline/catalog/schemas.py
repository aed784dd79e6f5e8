"""Catalog products on the wire: Vayu's CreateCatalogProductRequest plus `meterId` (an extension)."""

from pydantic import BaseModel, ConfigDict, Field

from meterline.kit.ids import ID_PATTERN


class CatalogProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=1024)
    description: str | None = Field(default=None, max_length=4096)
    externalId: str | None = Field(default=None, max_length=256)
    meterId: str | None = Field(default=None, pattern=ID_PATTERN, description="the meter measuring this product")


class CatalogProductUpdate(BaseModel):
    """Partial: null or absent means unchanged."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=1024)
    description: str | None = Field(default=None, max_length=4096)
    externalId: str | None = Field(default=None, max_length=256)
    meterId: str | None = Field(default=None, pattern=ID_PATTERN)


class CatalogProductOut(CatalogProductCreate):
    model_config = ConfigDict(extra="allow")
    id: str
    createdAt: str
    updatedAt: str


class DeletedCatalogProductOut(CatalogProductOut):
    deletedAt: str


class CatalogProductResponse(BaseModel):
    catalogProduct: CatalogProductOut


class DeleteCatalogProductResponse(BaseModel):
    catalogProduct: DeletedCatalogProductOut


class ListCatalogProductsResponse(BaseModel):
    catalogProducts: list[CatalogProductOut]
    total: int
    hasMore: bool
    nextCursor: str | None = None
