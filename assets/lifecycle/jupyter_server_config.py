# nbsynth download block. Root-owned and first on JUPYTER_CONFIG_PATH, so it is loaded last and wins.
from jupyter_server.auth.authorizer import AllowAllAuthorizer
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.services.contents.manager import ContentsManager
from tornado import web


# /files/ serves raw bytes: JupyterLab's Download and "Open in New Browser Tab" use it, with or without ?download.
class NbsynthNoFiles(JupyterHandler):
    def get(self, path, include_body=True):
        raise web.HTTPError(403, "downloads are disabled on this notebook instance")

    head = get


# Export is a download too (GET /nbconvert/<format>/<path>, POST /nbconvert/<format>, /api/nbconvert: all
# resource "nbconvert"); /files/ is refused here as well, should another handler ever serve it.
class NbsynthAuthorizer(AllowAllAuthorizer):
    def is_authorized(self, handler, user, action, resource):
        path = handler.request.path[len(handler.base_url):]
        return resource != "nbconvert" and not path.startswith("files/")


# The server mounts /files/ from this method of whichever contents manager class a config names; replacing
# it, rather than the files_handler_class trait, leaves no class-specific config section to outrank.
ContentsManager.get_extra_handlers = lambda self: [(r"/files/(.*)", NbsynthNoFiles)]
c.ServerApp.authorizer_class = NbsynthAuthorizer
