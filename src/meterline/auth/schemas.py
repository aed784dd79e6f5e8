from pydantic import BaseModel, ConfigDict, Field


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refreshToken: str = Field(min_length=1, max_length=512, description="The API key")


class LoginResponse(BaseModel):
    accessToken: str = Field(description="JWT, valid for one hour")
