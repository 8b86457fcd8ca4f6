"""Write the small synthetic example files the README's and docs' commands read.

    python examples/make_examples.py          # (re)writes every file beside this script

Everything is generated from fixed seeds, with no download and no copy of a real data set:
running it again gives the same bytes. The files have the layouts the commands expect (see
examples/README.md for which command reads which file); their numbers are made up, so the
results differ from the published ones of the real reference data sets.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from cvm.survey import PathModel

HERE = Path(__file__).resolve().parent
SEED = 20240630
FIXED_ZIP_TIME = (2024, 6, 30, 0, 0, 0)


def rng(offset: int) -> np.random.Generator:
    return np.random.default_rng(SEED + offset)


def write_csv(df: pd.DataFrame, name: str, **kw) -> None:
    (HERE / name).write_text(df.to_csv(index=False, lineterminator="\n", **kw),
                             encoding="utf-8")


# ----------------------------------------------------------------------- the tour (import)
def crm_customers() -> pd.DataFrame:
    """crm_export.xlsx: a CRM's customer export, columns CustNo and Kind (plus attributes)."""
    r = rng(1)
    n = 200
    kinds = r.choice(["Consumer", "Individual", "Business", "B2B", "Reseller", "Staff"], n,
                     p=[0.45, 0.25, 0.12, 0.08, 0.08, 0.02])
    return pd.DataFrame({
        "CustNo": [f"C{i:04d}" for i in range(1, n + 1)],
        "Kind": kinds,
        "Region": r.choice(["north", "south", "east", "west"], n),
        "Segment": r.choice(["prepaid", "postpaid", "family"], n, p=[0.5, 0.35, 0.15]),
    })


def write_xlsx(df: pd.DataFrame, name: str) -> None:
    """An .xlsx with fixed document times and zip entry times (so the bytes repeat)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Customers"
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        ws.append(list(row))
    fixed = dt.datetime(2024, 6, 30)
    wb.properties.created = wb.properties.modified = fixed
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2024-06-30T00:00:00Z",
                              data)
            dst.writestr(zipfile.ZipInfo(info.filename, FIXED_ZIP_TIME), data,
                         compress_type=zipfile.ZIP_DEFLATED)
    (HERE / name).write_bytes(out.getvalue())


def sales(customers: pd.DataFrame) -> pd.DataFrame:
    """sales.csv: CustNo, Date (dd/mm/YYYY), NetAmount, and Brand, Product, Channel.

    Two years (2023-2024) of purchases; purchase rates and spend are heavy-tailed so that the
    value tiers and concentration have something to show."""
    r = rng(2)
    start, days = dt.date(2023, 1, 1), 731
    brands = {"Aurora": ["Aurora Basic", "Aurora Plus"], "Cirrus": ["Cirrus Go", "Cirrus Max"],
              "Nimbus": ["Nimbus One"]}
    rows = []
    for cust in customers["CustNo"]:
        rate = r.gamma(0.8, 1 / 40)          # purchases per day
        scale = r.lognormal(3.0, 0.9)        # mean spend per purchase
        first = int(r.integers(0, days - 30))
        last_day = first + int(r.exponential(500))  # dropout
        n = max(1, r.poisson(rate * (min(days, last_day) - first)))
        n = min(n, 40)
        brand = r.choice(list(brands))
        for d in sorted(set([first] + list(r.integers(first, min(days, last_day + 1), n - 1)))):
            product = r.choice(brands[brand])
            rows.append({"CustNo": cust,
                         "Date": (start + dt.timedelta(days=int(d))).strftime("%d/%m/%Y"),
                         "NetAmount": round(float(r.gamma(2.0, scale / 2.0)) + 0.01, 2),
                         "Brand": brand, "Product": product,
                         "Channel": r.choice(["store", "web", "app"])})
    return pd.DataFrame(rows).drop_duplicates(["CustNo", "Date", "NetAmount"])


def chinese_customers() -> pd.DataFrame:
    """客户.csv: a customer list with Chinese headers and codes (个人 person, 企业 company)."""
    r = rng(3)
    n = 40
    return pd.DataFrame({
        "客户编号": [f"K{i:03d}" for i in range(1, n + 1)],
        "客户类型": r.choice(["个人", "企业"], n, p=[0.7, 0.3]),
        "地区": r.choice(["华东", "华北", "华南"], n),
    })


def french_sales(customer_ids: list[str]) -> str:
    """ventes.csv: ';'-separated, decimal comma, '.' grouping thousands (1.234,50)."""
    r = rng(4)
    lines = ["customer_id;timestamp;amount;brand"]
    seen = set()
    for i in range(60):
        cust = customer_ids[int(r.integers(len(customer_ids)))]
        day = dt.date(2024, 7, 1) + dt.timedelta(days=int(r.integers(0, 180)))
        cents = int(r.integers(500, 150_000)) if i % 10 == 0 else int(r.integers(300, 9_000))
        if (cust, day, cents) in seen:
            continue
        seen.add((cust, day, cents))
        whole, frac = divmod(cents, 100)
        amount = f"{whole:,}".replace(",", ".") + f",{frac:02d}"
        lines.append(f"{cust};{day.isoformat()};{amount};{r.choice(['Aurora', 'Cirrus'])}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- lifetime value
def bgnbd_summary() -> pd.DataFrame:
    """cdnow_summary.csv: ID, frequency, recency, T in weeks, simulated from a Pareto/NBD
    process (CDNOW's layout: first purchases in the first 12 weeks, calibration to week 39;
    several purchases on one day count once)."""
    r = rng(5)
    n, end = 1500, 39 * 7                     # days
    rows = []
    for i in range(1, n + 1):
        lam = r.gamma(0.55, 1 / 10.6) / 7     # purchases per day while alive
        mu = r.gamma(0.6, 1 / 11.7) / 7       # dropout rate per day
        first = int(r.integers(0, 12 * 7))
        death = min(end, first + r.exponential(1 / mu))
        t, days = float(first), {first}
        while True:
            t += r.exponential(1 / lam)
            if t > death:
                break
            days.add(int(t))
        rows.append({"ID": i, "frequency": len(days) - 1,
                     "recency": round((max(days) - first) / 7, 2),
                     "T": round((end - first) / 7, 2)})
    return pd.DataFrame(rows)


def bgbb_donations() -> pd.DataFrame:
    """donations.csv: frequency, recency, periods, weights: BG/BB repeat donations over 6
    yearly opportunities, one row per pattern with the number of donors who show it."""
    r = rng(6)
    n, periods = 5000, 6
    p = r.beta(1.2, 0.75, n)
    theta = r.beta(0.66, 2.8, n)
    rows = []
    for pi, th in zip(p, theta, strict=True):
        x, last = 0, 0
        for t in range(1, periods + 1):
            if r.random() < th:   # dropped out before this opportunity
                break
            if r.random() < pi:
                x, last = x + 1, t
        rows.append((x, last))
    df = pd.DataFrame(rows, columns=["frequency", "recency"])
    out = df.value_counts().rename("weights").reset_index()
    out.insert(2, "periods", periods)
    return out.sort_values(["frequency", "recency"], ascending=False, ignore_index=True)


def sbg_retention() -> pd.DataFrame:
    """retention.csv: year 0-12 and the customers still active of two cohorts of 1,000."""
    r = rng(7)
    out = {"year": list(range(13))}
    for cohort, (a, b) in {"regular": (0.7, 1.2), "high_end": (0.67, 3.8)}.items():
        churn = r.beta(a, b, 1000)
        alive = np.ones(1000, bool)
        counts = []
        for _ in range(13):
            counts.append(int(alive.sum()))
            alive &= r.random(1000) >= churn
        out[cohort] = counts
    return pd.DataFrame(out)


# ---------------------------------------------------------------------------------- surveys
# the built-in model's blocks, so the example file and cvm cannot drift apart
ECSI_BLOCKS = {c: list(items) for c, items in PathModel.ecsi().blocks.items()}
ECSI_PATHS = {
    "Expectation": {"Image": 0.5},
    "Quality": {"Expectation": 0.55},
    "Value": {"Expectation": 0.1, "Quality": 0.55},
    "Satisfaction": {"Image": 0.2, "Expectation": 0.05, "Quality": 0.5, "Value": 0.2},
    "Complaints": {"Satisfaction": 0.5},
    "Loyalty": {"Image": 0.2, "Satisfaction": 0.5, "Complaints": 0.07},
}


def ecsi_survey() -> pd.DataFrame:
    """mobi.csv: 250 respondents x the 24 items of the seven-factor ECSI model (1-10)."""
    r = rng(8)
    n = 250
    latent = {"Image": r.standard_normal(n)}
    for target, preds in ECSI_PATHS.items():
        signal = sum(w * latent[p] for p, w in preds.items())
        noise = np.sqrt(max(0.05, 1 - float(np.var(signal))))
        latent[target] = signal + noise * r.standard_normal(n)
    cols = {"respondent": [f"R{i:03d}" for i in range(1, n + 1)]}
    for construct, items in ECSI_BLOCKS.items():
        for item in items:
            loading = 0.35 if item == "CUSL2" else float(r.uniform(0.7, 0.9))  # a weak item
            x = loading * latent[construct] + np.sqrt(1 - loading**2) * r.standard_normal(n)
            cols[item] = np.clip(np.round(7.2 + 1.6 * x), 1, 10).astype(int)
    return pd.DataFrame(cols)


def ecsi_toml() -> str:
    def arr(v) -> str:
        return "[" + ", ".join(f'"{s}"' for s in v) + "]"
    lines = ["# The seven-factor ECSI satisfaction model (the same as cvm's built-in one).",
             "[blocks]"]
    lines += [f"{c} = {arr(v)}" for c, v in ECSI_BLOCKS.items()]
    lines += ["", "[modes]  # A: reflective, B: formative"]
    lines += [f'{c} = "A"' for c in ECSI_BLOCKS]
    lines += ["", "[paths]  # construct = [its predecessors]"]
    lines += [f"{c} = {arr(p)}" for c, p in ECSI_PATHS.items()]
    lines += ["", "[scale]", "min = 1", "max = 10", ""]
    return "\n".join(lines)


def ecsi_long(wide: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ecsi_items.csv and ecsi_responses.csv: the same survey as cvm stores it (survey 'ecsi'):
    the item definitions, and one row per answer."""
    items = pd.DataFrame([{"survey": "ecsi", "item": item, "construct": construct,
                           "scale_min": 1, "scale_max": 10}
                          for construct, block in ECSI_BLOCKS.items() for item in block])
    long = wide.melt(id_vars="respondent", var_name="item", value_name="answer")
    long = long.rename(columns={"respondent": "respondent_id"})
    long.insert(1, "survey", "ecsi")
    return items, long


def answers() -> pd.DataFrame:
    """answers.csv: one row per respondent: region, date, q_recommend (0-10), overall (1-10)
    and three driver ratings q1 staff, q2 speed, q3 price (1-5)."""
    r = rng(9)
    n = 400
    drivers = r.standard_normal((n, 3))
    region = r.choice(["north", "south", "east", "west"], n)
    shift = pd.Series(region).map({"north": 0.3, "south": -0.2, "east": 0.0, "west": 0.1})
    sat = drivers @ np.array([0.5, 0.3, 0.2]) + shift.to_numpy() + 0.6 * r.standard_normal(n)
    q = np.clip(np.round(3.4 + 1.0 * (0.8 * drivers + 0.6 * r.standard_normal((n, 3)))), 1, 5)
    day = [dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in r.integers(0, 182, n)]
    return pd.DataFrame({
        "respondent_id": [f"A{i:04d}" for i in range(1, n + 1)],
        "region": region,
        "date": [d.isoformat() for d in day],
        "q_recommend": np.clip(np.round(7.5 + 1.8 * sat), 0, 10).astype(int),
        "overall": np.clip(np.round(7.0 + 1.5 * sat), 1, 10).astype(int),
        "q1": q[:, 0].astype(int), "q2": q[:, 1].astype(int), "q3": q[:, 2].astype(int),
    })


AHP_CRITERIA = ["price", "quality", "service", "delivery", "brand"]


def ahp_criteria() -> str:
    """criteria.csv: a 5x5 pairwise-comparison matrix (reciprocal, consistent enough)."""
    upper = {(0, 1): "1/3", (0, 2): "1/2", (0, 3): "3", (0, 4): "2", (1, 2): "2", (1, 3): "5",
             (1, 4): "4", (2, 3): "4", (2, 4): "3", (3, 4): "1/2"}
    lines = ["," + ",".join(AHP_CRITERIA)]
    for i, name in enumerate(AHP_CRITERIA):
        cells = []
        for j in range(len(AHP_CRITERIA)):
            if i == j:
                cells.append("1")
            elif (i, j) in upper:
                cells.append(upper[i, j])
            else:
                v = upper[j, i]
                cells.append(v[2:] if v.startswith("1/") else f"1/{v}")
        lines.append(name + "," + ",".join(cells))
    return "\n".join(lines) + "\n"


def fuzzy_grades() -> tuple[pd.DataFrame, pd.DataFrame]:
    """grades.csv (factor x counts of excellent, good, fair, poor from 100 respondents) and
    weights.csv (factor, weight: the layout `cvm survey ahp --out` writes)."""
    r = rng(10)
    counts = r.multinomial(100, [0.3, 0.4, 0.2, 0.1], len(AHP_CRITERIA))
    grades = pd.DataFrame(counts, columns=["excellent", "good", "fair", "poor"])
    grades.insert(0, "factor", AHP_CRITERIA)
    weights = pd.DataFrame({"criterion": AHP_CRITERIA,
                            "weight": [0.1602, 0.4174, 0.2634, 0.0615, 0.0975]})
    return grades, weights


# ------------------------------------------------------------------------------------ churn
def telco() -> pd.DataFrame:
    """telco.csv: one row per customer in the layout of IBM's telco churn sample: customerID,
    services, Contract, tenure (months), charges and Churn (Yes/No); TotalCharges is blank
    for customers with tenure 0, as in the real file."""
    r = rng(11)
    n = 1000
    contract = r.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.21, 0.24])
    internet = r.choice(["DSL", "Fiber optic", "No"], n, p=[0.34, 0.44, 0.22])
    payment = r.choice(["Electronic check", "Mailed check", "Bank transfer (automatic)",
                        "Credit card (automatic)"], n)
    senior = (r.random(n) < 0.16).astype(int)
    partner = r.choice(["Yes", "No"], n)
    base = {"Month-to-month": 18, "One year": 40, "Two year": 56}
    tenure = np.clip(np.round([r.exponential(base[c]) for c in contract]), 0, 72).astype(int)
    tenure[r.random(n) < 0.01] = 0
    monthly = np.round(np.where(internet == "No", 20, np.where(internet == "DSL", 55, 85))
                       + r.normal(0, 12, n), 2)
    logit = (-1.2 + 1.3 * (contract == "Month-to-month") - 1.0 * (contract == "Two year")
             + 0.7 * (internet == "Fiber optic") + 0.5 * (payment == "Electronic check")
             - 0.035 * tenure + 0.4 * senior)
    churn = r.random(n) < 1 / (1 + np.exp(-logit))
    total = np.round(monthly * tenure * r.uniform(0.95, 1.05, n), 2)
    return pd.DataFrame({
        "customerID": [f"{i:04d}-" + "".join(s) for i, s in zip(
            range(1, n + 1), r.choice(list("ABCDEFGHJKLMNPQRSTUVWXYZ"), (n, 5)), strict=True)],
        "gender": r.choice(["Female", "Male"], n),
        "SeniorCitizen": senior,
        "Partner": partner,
        "tenure": tenure,
        "InternetService": internet,
        "Contract": contract,
        "PaperlessBilling": r.choice(["Yes", "No"], n, p=[0.6, 0.4]),
        "PaymentMethod": payment,
        "MonthlyCharges": monthly,
        "TotalCharges": [("" if t == 0 else f"{v:.2f}") for t, v in zip(tenure, total,
                                                                        strict=True)],
        "Churn": np.where(churn, "Yes", "No"),
    })


# -------------------------------------------------------------------------------- campaigns
def campaign_file() -> pd.DataFrame:
    """campaign.csv: a campaign on the demo company (`cvm demo`, ids 000001-...): 600 of its
    first 1,000 customers, each given an arm at random (control, email, sms) on 2024-06-01."""
    r = rng(12)
    ids = np.sort(r.choice(np.arange(1, 1001), 600, replace=False))
    return pd.DataFrame({"customer_id": [f"{i:06d}" for i in ids],
                         "arm": r.choice(["control", "email", "sms"], ids.size),
                         "date": "2024-06-01"})


def campaign_results() -> pd.DataFrame:
    """campaign_results.csv: a randomised test, one row per customer: customer_id, arm
    (control, email, sms), what was known before (tenure_months, past_spend, region) and the
    outcomes (bought 0/1, spend). Email works for newer customers and not for long-standing
    ones; sms does little: something for an uplift model to find."""
    r = rng(13)
    n = 3000
    arm = r.choice(["control", "email", "sms"], n, p=[0.4, 0.3, 0.3])
    tenure = np.round(r.gamma(2.0, 12.0, n)).astype(int) + 1
    past = np.round(r.gamma(2.0, 60.0, n), 2)
    region = r.choice(["north", "south", "east", "west"], n)
    base = -1.6 + 0.004 * past - 0.01 * tenure
    lift = np.where(arm == "email", np.where(tenure < 18, 0.9, -0.1),
                    np.where(arm == "sms", 0.1, 0.0))
    bought = r.random(n) < 1 / (1 + np.exp(-(base + lift)))
    spend = np.where(bought, np.round(r.gamma(3.0, 0.2 * past + 20.0), 2), 0.0)
    return pd.DataFrame({"customer_id": [f"K{i:05d}" for i in range(1, n + 1)], "arm": arm,
                         "tenure_months": tenure, "past_spend": past, "region": region,
                         "bought": bought.astype(int), "spend": spend})


def policy_panel() -> pd.DataFrame:
    """policy_panel.csv: monthly revenue of 40 stores in 2024 (store, group, month,
    revenue); the 15 'pilot' stores started a new service policy in July, the 'other' stores
    did not. Revenue grows alike in both groups before July (parallel trends); the policy
    adds about 8 (thousands) a month from July on."""
    r = rng(14)
    stores, months = 40, pd.period_range("2024-01", "2024-12", freq="M")
    pilot = np.arange(stores) < 15
    level = r.normal(120.0, 25.0, stores)
    rows = []
    for s in range(stores):
        for t, month in enumerate(months):
            effect = 8.0 if pilot[s] and t >= 6 else 0.0
            rows.append({"store": f"S{s + 1:02d}",
                         "group": "pilot" if pilot[s] else "other",
                         "month": str(month),
                         "revenue": round(level[s] + 1.5 * t + 4 * np.sin(t / 2) + effect
                                          + r.normal(0.0, 4.0), 1)})
    return pd.DataFrame(rows)


def main() -> None:
    customers = crm_customers()
    write_xlsx(customers, "crm_export.xlsx")
    write_csv(sales(customers), "sales.csv")
    write_csv(chinese_customers(), "客户.csv")
    (HERE / "ventes.csv").write_text(french_sales(list(customers["CustNo"])), encoding="utf-8")
    write_csv(bgnbd_summary(), "cdnow_summary.csv")
    write_csv(bgbb_donations(), "donations.csv")
    write_csv(sbg_retention(), "retention.csv")
    wide = ecsi_survey()
    write_csv(wide, "mobi.csv")
    items, long = ecsi_long(wide)
    write_csv(items, "ecsi_items.csv")
    write_csv(long, "ecsi_responses.csv")
    (HERE / "ecsi.toml").write_text(ecsi_toml(), encoding="utf-8")
    write_csv(answers(), "answers.csv")
    (HERE / "criteria.csv").write_text(ahp_criteria(), encoding="utf-8")
    grades, weights = fuzzy_grades()
    write_csv(grades, "grades.csv")
    write_csv(weights, "weights.csv")
    write_csv(telco(), "telco.csv")
    write_csv(campaign_file(), "campaign.csv")
    write_csv(campaign_results(), "campaign_results.csv")
    write_csv(policy_panel(), "policy_panel.csv")


if __name__ == "__main__":
    main()
