from meterline.kit.routing import make_router

router = make_router()
