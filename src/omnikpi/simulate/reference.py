"""Fixed reference data of the simulated Korean beauty retailer: geography, range, partners."""

from __future__ import annotations

#: Region, share of customers, centroid latitude and longitude.
REGIONS: tuple[tuple[str, float, float, float], ...] = (
    ("Seoul", 0.27, 37.5665, 126.9780),
    ("Gyeonggi", 0.25, 37.4138, 127.5183),
    ("Incheon", 0.06, 37.4563, 126.7052),
    ("Busan", 0.07, 35.1796, 129.0756),
    ("Daegu", 0.05, 35.8714, 128.6014),
    ("Daejeon", 0.03, 36.3504, 127.3845),
    ("Gwangju", 0.03, 35.1595, 126.8526),
    ("Ulsan", 0.02, 35.5384, 129.3114),
    ("Gangwon", 0.03, 37.8228, 128.1555),
    ("Chungbuk", 0.03, 36.6357, 127.4917),
    ("Chungnam", 0.04, 36.6588, 126.6728),
    ("Jeonbuk", 0.03, 35.8242, 127.1480),
    ("Jeonnam", 0.03, 34.8161, 126.4629),
    ("Gyeongbuk", 0.025, 36.5760, 128.5056),
    ("Gyeongnam", 0.025, 35.2383, 128.6924),
    ("Jeju", 0.01, 33.4996, 126.5312),
)

#: Store name, kind, region, city, latitude, longitude, opened (years before the period
#: starts; negative = opens during the period, as a share of it), floor area.
STORES: tuple[tuple[str, str, str, str, float, float, float, float], ...] = (
    ("Myeongdong Flagship", "flagship", "Seoul", "Jung-gu", 37.5636, 126.9838, 8.0, 620.0),
    ("Gangnam Station", "store", "Seoul", "Gangnam-gu", 37.4979, 127.0276, 6.0, 240.0),
    ("Hongdae", "store", "Seoul", "Mapo-gu", 37.5563, 126.9220, 5.0, 210.0),
    ("Jamsil", "store", "Seoul", "Songpa-gu", 37.5133, 127.1002, 4.0, 260.0),
    ("Busan Seomyeon", "store", "Busan", "Busanjin-gu", 35.1579, 129.0594, 6.0, 230.0),
    ("Suwon", "store", "Gyeonggi", "Suwon", 37.2664, 127.0002, 3.0, 190.0),
    ("Incheon Songdo", "store", "Incheon", "Yeonsu-gu", 37.3925, 126.6392, 2.0, 200.0),
    ("Daegu Dongseongno", "store", "Daegu", "Jung-gu", 35.8692, 128.5955, 5.0, 210.0),
    ("Bundang", "store", "Gyeonggi", "Seongnam", 37.3826, 127.1189, 4.0, 220.0),
    ("Daejeon Dunsan", "store", "Daejeon", "Seo-gu", 36.3515, 127.3786, 3.0, 180.0),
    ("Gwangju Chungjang", "store", "Gwangju", "Dong-gu", 35.1486, 126.9149, 3.0, 170.0),
    ("Yeoju Outlet", "outlet", "Gyeonggi", "Yeoju", 37.2417, 127.6186, 4.0, 300.0),
    ("Busan Haeundae", "store", "Busan", "Haeundae-gu", 35.1631, 129.1635, 2.0, 200.0),
    ("Ilsan", "store", "Gyeonggi", "Goyang", 37.6584, 126.7700, 1.5, 190.0),
    ("Ulsan Samsan", "store", "Ulsan", "Nam-gu", 35.5400, 129.3380, 1.0, 160.0),
    ("Jeju Nohyeong", "store", "Jeju", "Jeju", 33.4850, 126.4810, 2.5, 150.0),
    ("Cheongju", "store", "Chungbuk", "Cheongju", 36.6424, 127.4890, -0.35, 170.0),
    ("Jeonju", "store", "Jeonbuk", "Jeonju", 35.8219, 127.1480, -0.6, 160.0),
    ("Changwon", "store", "Gyeongnam", "Changwon", 35.2280, 128.6811, 1.0, 170.0),
    ("Pohang", "store", "Gyeongbuk", "Pohang", 36.0190, 129.3435, -0.8, 150.0),
    ("Yongsan", "store", "Seoul", "Yongsan-gu", 37.5298, 126.9648, 3.0, 200.0),
    ("Wonju", "store", "Gangwon", "Wonju", 37.3422, 127.9202, 1.0, 150.0),
    ("Cheonan", "store", "Chungnam", "Cheonan", 36.8151, 127.1139, 2.0, 170.0),
    ("Mokpo", "store", "Jeonnam", "Mokpo", 34.8118, 126.3922, 1.0, 140.0),
)
DISTRIBUTION_CENTRE = ("Icheon DC", "Gyeonggi", "Icheon", 37.2720, 127.4350)
#: Each location's name in Korean, as its staff and customers say it (stores.name_ko).
STORE_NAMES_KO: dict[str, str] = {
    "Myeongdong Flagship": "명동 플래그십",
    "Gangnam Station": "강남역점",
    "Hongdae": "홍대점",
    "Jamsil": "잠실점",
    "Busan Seomyeon": "부산 서면점",
    "Suwon": "수원점",
    "Incheon Songdo": "인천 송도점",
    "Daegu Dongseongno": "대구 동성로점",
    "Bundang": "분당점",
    "Daejeon Dunsan": "대전 둔산점",
    "Gwangju Chungjang": "광주 충장로점",
    "Yeoju Outlet": "여주 아울렛",
    "Busan Haeundae": "부산 해운대점",
    "Ilsan": "일산점",
    "Ulsan Samsan": "울산 삼산점",
    "Jeju Nohyeong": "제주 노형점",
    "Cheongju": "청주점",
    "Jeonju": "전주점",
    "Changwon": "창원점",
    "Pohang": "포항점",
    "Yongsan": "용산점",
    "Wonju": "원주점",
    "Cheonan": "천안점",
    "Mokpo": "목포점",
    "Icheon DC": "이천 물류센터",
}

BRANDS = (
    "Seorin",
    "Hanbit",
    "Mirae Lab",
    "Dalbit",
    "Sumi",
    "Noeul",
    "Byeolhae",
    "Onda",
    "Gyeol",
    "Haneul",
)

#: Category, share of the range, subcategories with (low, high) price in won.
CATEGORIES: tuple[tuple[str, float, tuple[tuple[str, int, int], ...]], ...] = (
    (
        "skincare",
        0.34,
        (
            ("toner", 14_000, 38_000),
            ("serum", 24_000, 78_000),
            ("cream", 22_000, 95_000),
            ("cleanser", 9_000, 24_000),
            ("sunscreen", 13_000, 32_000),
            ("sheet mask", 2_000, 6_000),
        ),
    ),
    (
        "makeup",
        0.24,
        (
            ("cushion", 22_000, 48_000),
            ("lipstick", 14_000, 36_000),
            ("foundation", 26_000, 58_000),
            ("eyeshadow", 12_000, 42_000),
            ("mascara", 12_000, 26_000),
        ),
    ),
    ("haircare", 0.1, (("shampoo", 9_000, 28_000), ("treatment", 12_000, 34_000))),
    (
        "bodycare",
        0.1,
        (
            ("body lotion", 10_000, 29_000),
            ("body wash", 8_000, 19_000),
            ("hand cream", 5_000, 15_000),
        ),
    ),
    ("fragrance", 0.09, (("eau de parfum", 48_000, 148_000), ("body mist", 15_000, 32_000))),
    ("men", 0.07, (("all-in-one", 18_000, 39_000), ("shaving", 9_000, 22_000))),
    ("tools", 0.06, (("brush", 6_000, 32_000), ("puff", 3_000, 9_000))),
)

INGREDIENTS = (
    "Green Tea",
    "Camellia",
    "Ginseng",
    "Rice",
    "Cica",
    "Snail",
    "Mugwort",
    "Yuzu",
    "Jeju Lava",
    "Bamboo",
    "Peony",
    "Hyaluronic",
    "Vitamin C",
    "Retinol",
    "Ceramide",
    "Black Bean",
)

CARRIERS = ("CJ Logistics", "Lotte Global", "Hanjin", "Korea Post")
#: Probability that a carrier misses the promised date outside and inside peak weeks.
CARRIER_LATE = {
    "CJ Logistics": (0.05, 0.12),
    "Lotte Global": (0.06, 0.16),
    "Hanjin": (0.07, 0.18),
    "Korea Post": (0.04, 0.1),
}
MARKETPLACES = ("coupang", "naver_smartstore", "11st")
COMPETITORS = ("Olive Garden Beauty", "Lalavla", "Chicor")

#: On-site search terms; misspellings and out-of-range terms return no results.
SEARCH_TERMS_FOUND = (
    "serum",
    "sunscreen",
    "cushion",
    "toner",
    "cleanser",
    "lipstick",
    "cica",
    "retinol",
    "vitamin c",
    "sheet mask",
    "perfume",
    "hand cream",
    "shampoo",
    "mascara",
    "foundation",
    "gift set",
    "men",
    "green tea",
    "snail",
    "hyaluronic",
)
SEARCH_TERMS_EMPTY = (
    "serun",
    "sunscren",
    "cusion",
    "nail polish",
    "tattoo",
    "hair dryer",
    "lip tint orange",
    "vegan shampoo bar",
    "dermaroller",
)
#: Organic search queries in the search-console export and their typical rank.
ORGANIC_QUERIES = tuple(
    [
        (f"{b.lower()} {s}", 2.0 + i % 3)
        for i, b in enumerate(BRANDS[:5])
        for s in ("serum", "cream", "cushion")
    ]
    + [
        (q, 8.0 + i)
        for i, q in enumerate(
            (
                "korean skincare",
                "best sunscreen korea",
                "cica cream",
                "k beauty gift set",
                "vitamin c serum",
                "retinol serum",
                "cushion foundation",
                "sheet mask",
                "men skincare",
                "hand cream gift",
                "toner pads",
                "jeju cosmetics",
            )
        )
    ]
)
