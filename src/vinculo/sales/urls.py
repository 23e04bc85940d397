"""Pages of the sales module, under the "sales" namespace at the site root; each area keeps its
own URLs beside its code."""

from __future__ import annotations

from vinculo.sales.deals import urls as deals_urls
from vinculo.sales.forecasts import urls as forecasts_urls
from vinculo.sales.leads import urls as leads_urls
from vinculo.sales.quotes import urls as quotes_urls
from vinculo.sales.scoring import urls as scoring_urls

urlpatterns = [
    *leads_urls.urlpatterns,
    *deals_urls.urlpatterns,
    *quotes_urls.urlpatterns,
    *forecasts_urls.urlpatterns,
    *scoring_urls.urlpatterns,
]
