"""The local Dask cluster dataprep starts: its dashboard link leads to charts, not a blank page."""

from urllib.parse import urlsplit, urlunsplit
from urllib.request import urlopen

from dataprep.cluster import open_executor
from dataprep.config import DaskConfig


def test_local_cluster_dashboard_serves_its_status_page():
    with open_executor(DaskConfig(workers=1)) as executor:
        link = executor.dashboard
        assert "pip install bokeh" not in link  # bokeh comes with dataprep
        scheme, netloc, *_ = urlsplit(link)
        assert netloc.startswith("127.0.0.1:")  # never on all interfaces
        with urlopen(urlunsplit((scheme, netloc, "/status", "", "")), timeout=30) as response:
            status, page = response.status, response.read().decode("utf-8", "replace")
    assert status == 200
    assert "bokeh" in page.lower()  # the page that embeds the charts
