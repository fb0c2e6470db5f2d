"""Rules for reading households: which filters make sense, and how a page is cut."""

from __future__ import annotations

import re

from hub.errors import Invalid
from hub.household.repository import HouseholdRepository
from hub.household.schemas import HouseholdFilter, HouseholdOrder
from hub.models import Household
from hub.paging import Page, PageRequest, to_page

REGION_CODE = re.compile(r"\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?")


def check_region_code(code: str) -> str:
    if not REGION_CODE.fullmatch(code):
        raise Invalid("a region code looks like `33`, `33.14`, `33.14.01` or `33.14.01.2001`",
                      field="regionCode")
    return code


def check_filter(wanted: HouseholdFilter) -> HouseholdFilter:
    if wanted.region_code is not None:
        check_region_code(wanted.region_code)
    for name, value in (("decileMin", wanted.decile_min), ("decileMax", wanted.decile_max)):
        if value is not None and not 1 <= value <= 10:
            raise Invalid("a decile is between 1 and 10", field=name)
    if wanted.decile_min is not None and wanted.decile_max is not None and wanted.decile_min > wanted.decile_max:
        raise Invalid("decileMin is above decileMax", field="decileMin")
    return wanted


async def list_households(repository: HouseholdRepository, wanted: HouseholdFilter, order: HouseholdOrder,
                          page: PageRequest) -> Page[Household]:
    rows = await repository.page(check_filter(wanted), order, page)
    return to_page(rows, page)


async def count_households(repository: HouseholdRepository, wanted: HouseholdFilter) -> int:
    return await repository.count_filtered(check_filter(wanted))
