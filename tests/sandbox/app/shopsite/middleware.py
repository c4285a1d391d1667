from .version import VERSION


def version_header(get_response):
    """Every response names the release that served it (X-App-Version)."""

    def middleware(request):
        response = get_response(request)
        response["X-App-Version"] = VERSION
        return response

    return middleware
