# nbsynth download block. Root-owned and first on JUPYTER_CONFIG_PATH, so it is loaded last and wins.
from jupyter_server.auth.authorizer import AllowAllAuthorizer
from jupyter_server.base.handlers import JupyterHandler
from tornado import web


# /files/ serves raw bytes: JupyterLab's Download and "Open in New Browser Tab" use it, with or without ?download.
class NbsynthNoFiles(JupyterHandler):
    def initialize(self, **_):
        pass

    def get(self, path, include_body=True):
        raise web.HTTPError(403, "downloads are disabled on this notebook instance")

    head = get


# Export is a download too (GET /nbconvert/<format>/<path>, POST /nbconvert/<format>, /api/nbconvert: all
# resource "nbconvert"); /files/ is refused here as well, whatever files handler a lower config names.
class NbsynthAuthorizer(AllowAllAuthorizer):
    def is_authorized(self, handler, user, action, resource):
        path = handler.request.path[len(handler.base_url):]
        return resource != "nbconvert" and not path.startswith("files/")


# Every contents manager class by name: a section for a subclass would outrank ContentsManager's.
for name in "ContentsManager FileContentsManager AsyncFileContentsManager LargeFileManager AsyncLargeFileManager".split():
    c[name].files_handler_class = NbsynthNoFiles
    c[name].files_handler_params = {}
c.ServerApp.authorizer_class = NbsynthAuthorizer
