"""Contrasting profiles whose plans the plan tests read: the advice tests' expert cases and twelve
profiles an export advisor would pick (first steps and big exporters, overseas territories, VIE
none / maybe / several, typed budgets and bands, everything unknown)."""

from __future__ import annotations

from tests.unit.test_expert_cases import BASE, CASES

READING: dict[str, dict[str, str]] = {
    "saas 5, Île-de-France, San Francisco, no VIE, 15 k€": dict(
        sector="saas", target_region="north_america", target_country="us",
        target_city="san-francisco", headcount="h0_9", turnover="t0_1m",
        home_region="ile-de-france", stage="first_steps", vie="none", budget="b0_20k",
        budget_amount="15000"),
    "cybersecurity 30, AURA, Singapore, 2 VIE, 30 k€": dict(
        sector="cybersecurity", target_region="asia", target_country="sg",
        target_city="singapore", headcount="h10_49", turnover="t1_10m",
        home_region="auvergne-rhone-alpes", stage="exporting", vie="yes", vie_count="2",
        budget="b20_50k", budget_amount="30000", company_age="a3", large_contracts="no"),
    "La Réunion, Montréal, VIE maybe": dict(
        sector="edtech", target_region="north_america", target_country="ca",
        target_city="montreal", headcount="h0_9", turnover="t0_1m", home_region="outre-mer",
        territory="reunion", stage="first_steps", vie="maybe", budget="b20_50k"),
    "Martinique, Casablanca, 1 VIE": dict(
        sector="agritech", target_region="africa", target_country="ma", target_city="casablanca",
        headcount="h10_49", turnover="t1_10m", home_region="outre-mer", territory="martinique",
        stage="exporting", vie="yes", vie_count="1", budget="b50_150k", company_age="a1_3",
        large_contracts="unknown"),
    "Occitanie fintech, Berlin, 1 VIE, 200 k€": dict(
        sector="fintech", target_region="europe", target_country="de", target_city="berlin",
        headcount="h10_49", turnover="t1_10m", home_region="occitanie", stage="exporting",
        vie="yes", vie_count="1", budget="b150k", budget_amount="200000", company_age="a3",
        large_contracts="no"),
    "Bretagne games, Tokyo, 4 VIE": dict(
        sector="games", target_region="asia", target_country="jp", target_city="tokyo",
        headcount="h50_249", turnover="t10_50m", home_region="bretagne", stage="established",
        vie="yes", vie_count="4", budget="b150k", large_contracts="no"),
    "Normandie healthtech, Boston, 2 VIE, 60 k€": dict(
        sector="healthtech", target_region="north_america", target_country="us",
        target_city="boston", headcount="h10_49", turnover="t1_10m", home_region="normandie",
        stage="first_steps", vie="yes", vie_count="2", budget="b50_150k",
        budget_amount="60000", company_age="a3", large_contracts="no"),
    "big IoT exporter, London, large contracts": dict(
        sector="iot", target_region="europe", target_country="gb", target_city="london",
        headcount="h250", turnover="t50_500m", home_region="hauts-de-france",
        stage="established", vie="none", budget="b150k", large_contracts="yes",
        company_age="a3"),
    "AI company from Grand Est, New York, 1 VIE": dict(
        sector="ai", target_region="north_america", target_country="us",
        target_city="new-york", headcount="h10_49", turnover="t1_10m",
        home_region="grand-est", stage="exporting", vie="yes", vie_count="1",
        budget="b50_150k", large_contracts="no"),
    "greentech from Provence, Sydney, no VIE": dict(
        sector="greentech", target_region="oceania", target_country="au",
        target_city="sydney", headcount="h10_49", turnover="t1_10m",
        home_region="provence-alpes-cote-dazur", stage="first_steps", vie="none",
        budget="b50_150k", large_contracts="unknown"),
    "everything unknown, Asia": dict(
        sector="unknown", target_region="asia", target_country="unknown", headcount="unknown",
        turnover="unknown", home_region="unknown", stage="unknown", vie="unknown",
        budget="unknown"),
    "young saas, Nouvelle-Aquitaine, Munich, VIE maybe, 25 k€": dict(
        sector="saas", target_region="europe", target_country="de", target_city="munich",
        headcount="h0_9", turnover="t0_1m", home_region="nouvelle-aquitaine",
        stage="first_steps", vie="maybe", budget="b20_50k", budget_amount="25000",
        company_age="a0_1"),
}

PROFILES: dict[str, dict[str, str]] = {
    **READING,
    **{f"expert: {name}": {**BASE, **answers} for name, (answers, _) in CASES.items()},
}
