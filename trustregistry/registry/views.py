from django.http import HttpRequest, HttpResponse, JsonResponse


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError  # filled in by the registry tools work


def sha256_tool(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError  # filled in by the registry tools work
