//! Deterministic demo data: Chinese customers in real cities, appliances and electronics
//! with 三包 policies, orders from every channel, products in use with their histories,
//! contacts on every touchpoint, and a few people who arrived twice.

use aftercare_app::input::{AssetEventDraft, InteractionDraft, OrderDraft, ProductDraft};
use aftercare_app::{Actor, App};
use aftercare_domain::catalog::{AfterSalesStrategy, VoidCondition, WarrantyPolicy};
use aftercare_domain::contact::{Email, PhoneNumber};
use aftercare_domain::customer::*;
use aftercare_domain::order::{OrderLine, OrderStatus, SalesChannel};
use aftercare_domain::{CustomerId, Date, RequestId, UserId};
use anyhow::Context;
use jiff::ToSpan;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

pub struct Options {
    pub customers: u64,
    pub seed: u64,
    pub progress: bool,
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "萧", "田", "董", "潘", "袁", "蔡", "蒋", "余", "欧阳", "司马",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "晨", "欣怡", "子涵", "浩然", "宇轩", "梓萱", "一诺",
    "思远", "建华", "晓东", "海燕", "志强", "文博", "雨桐",
];
const CITIES: &[(&str, &str, &[&str])] = &[
    ("北京市", "北京", &["朝阳区", "海淀区", "东城区", "丰台区"]),
    (
        "上海市",
        "上海",
        &["徐汇区", "浦东新区", "静安区", "闵行区"],
    ),
    ("广东省", "广州", &["天河区", "越秀区", "海珠区"]),
    ("广东省", "深圳", &["南山区", "福田区", "宝安区"]),
    ("浙江省", "杭州", &["西湖区", "滨江区", "余杭区"]),
    ("四川省", "成都", &["武侯区", "锦江区", "高新区"]),
    ("湖北省", "武汉", &["洪山区", "江汉区", "武昌区"]),
    ("江苏省", "南京", &["鼓楼区", "玄武区", "江宁区"]),
    ("陕西省", "西安", &["雁塔区", "碑林区"]),
    ("重庆市", "重庆", &["渝中区", "江北区", "沙坪坝区"]),
    ("天津市", "天津", &["和平区", "南开区"]),
    ("山东省", "青岛", &["市南区", "崂山区"]),
];
const STREETS: &[&str] = &[
    "建国路",
    "中山路",
    "人民路",
    "解放大道",
    "科技园南路",
    "文三路",
    "长江路",
    "和平街",
    "滨江大道",
    "青年路",
];
const COMPANIES: &[&str] = &[
    "华联酒店管理有限公司",
    "蓝海科技有限公司",
    "明德实验学校",
    "金桥物业服务有限公司",
    "瑞丰餐饮连锁",
    "远航物流有限公司",
];
const TAGS: &[&str] = &[
    "老客户",
    "VIP",
    "装修中",
    "团购",
    "价格敏感",
    "爱好智能家居",
    "企业客户",
    "需要上门",
    "晚上联系",
];
const HABITS: &[&str] = &[
    "喜欢周末上门服务",
    "习惯微信沟通",
    "工作日白天不方便接电话",
    "看重安装细节",
    "每年春季保养空调",
];
const PREFS: &[&str] = &[
    "偏好静音机型",
    "喜欢白色外观",
    "关注能效等级",
    "偏好国产品牌",
    "希望预约晚上 7 点后",
];
const SUBJECTS: &[(&str, &str)] = &[
    ("phone", "咨询空调清洗保养"),
    ("web", "在官网查询保修期"),
    ("chat", "在线询问洗衣机异响"),
    ("store_visit", "到店体验新款冰箱"),
    ("field_visit", "上门安装热水器"),
    ("email", "索取电子发票"),
    ("media", "看到电视广告后来电咨询"),
    ("word_of_mouth", "朋友推荐购买扫地机器人"),
    ("sponsorship", "社区活动领取优惠券"),
    ("direct_sales", "销售顾问上门介绍新品"),
    ("point_of_sale", "门店导购介绍以旧换新"),
];

struct ProductSpec {
    sku: &'static str,
    name: &'static str,
    category: usize,
    price: i64,
}

const CATEGORIES: &[(&str, usize)] = &[
    ("空调", 0),
    ("冰箱", 0),
    ("洗衣机", 0),
    ("电视", 0),
    ("热水器", 0),
    ("手机", 1),
    ("笔记本电脑", 2),
    ("小家电", 3),
];
const PRODUCTS: &[ProductSpec] = &[
    ProductSpec {
        sku: "KFR-35GW",
        name: "变频挂壁式空调 1.5匹",
        category: 0,
        price: 3_299_00,
    },
    ProductSpec {
        sku: "KFR-72LW",
        name: "立柜式空调 3匹",
        category: 0,
        price: 7_999_00,
    },
    ProductSpec {
        sku: "BCD-520W",
        name: "十字对开门冰箱 520升",
        category: 1,
        price: 4_599_00,
    },
    ProductSpec {
        sku: "BCD-330",
        name: "三门冰箱 330升",
        category: 1,
        price: 2_699_00,
    },
    ProductSpec {
        sku: "XQG100-B",
        name: "滚筒洗衣机 10公斤",
        category: 2,
        price: 3_199_00,
    },
    ProductSpec {
        sku: "XQB80-Q",
        name: "波轮洗衣机 8公斤",
        category: 2,
        price: 1_299_00,
    },
    ProductSpec {
        sku: "TV-65Q8",
        name: "65英寸 4K 量子点电视",
        category: 3,
        price: 5_499_00,
    },
    ProductSpec {
        sku: "TV-55A6",
        name: "55英寸智能电视",
        category: 3,
        price: 2_899_00,
    },
    ProductSpec {
        sku: "JSQ30-16",
        name: "燃气热水器 16升",
        category: 4,
        price: 2_399_00,
    },
    ProductSpec {
        sku: "DSZF-60",
        name: "电热水器 60升",
        category: 4,
        price: 1_599_00,
    },
    ProductSpec {
        sku: "PH-X12",
        name: "旗舰手机 X12 256GB",
        category: 5,
        price: 5_999_00,
    },
    ProductSpec {
        sku: "PH-A5",
        name: "青春版手机 A5 128GB",
        category: 5,
        price: 1_599_00,
    },
    ProductSpec {
        sku: "NB-PRO14",
        name: "轻薄笔记本 Pro 14",
        category: 6,
        price: 6_999_00,
    },
    ProductSpec {
        sku: "NB-G16",
        name: "游戏本 G16",
        category: 6,
        price: 8_999_00,
    },
    ProductSpec {
        sku: "RB-S9",
        name: "扫地机器人 S9",
        category: 7,
        price: 2_999_00,
    },
    ProductSpec {
        sku: "AP-H3",
        name: "空气净化器 H3",
        category: 7,
        price: 1_899_00,
    },
];

fn pick<'a, T>(rng: &mut StdRng, xs: &'a [T]) -> &'a T {
    &xs[rng.random_range(0..xs.len())]
}

fn phone(rng: &mut StdRng) -> PhoneNumber {
    let prefixes = [
        "138", "139", "135", "136", "150", "151", "158", "186", "187", "177", "189", "133", "199",
    ];
    let n = format!(
        "{}{:08}",
        pick(rng, &prefixes),
        rng.random_range(0..100_000_000u32)
    );
    PhoneNumber::from_stored(format!("+86{n}"))
}

fn pinyin_of(name: &str) -> String {
    sort_key(name).replace(' ', "")
}

/// Fills an empty database and returns the demo accounts (email, password, role).
pub async fn fill(app: &App, o: Options) -> anyhow::Result<Vec<(String, String, String)>> {
    let actor = Actor::system("demo");
    let mut rng = StdRng::seed_from_u64(o.seed);
    let today = app.clock.today();
    let now = app.now();

    let mut creds = Vec::new();
    let mut user_ids = Vec::new();
    for (email, name, role) in [
        ("admin@demo.aftercare", "系统管理员", "admin"),
        ("manager@demo.aftercare", "周经理", "manager"),
        ("agent@demo.aftercare", "客服小林", "agent"),
        ("tech@demo.aftercare", "技师老陈", "technician"),
        ("marketing@demo.aftercare", "市场部小王", "marketer"),
        ("analyst@demo.aftercare", "数据分析师", "analyst"),
        ("pm@demo.aftercare", "产品经理小赵", "product_manager"),
        ("partner@demo.aftercare", "特约师傅阿强", "technician"),
    ] {
        let mut b = [0u8; 9];
        rand::rng().fill_bytes(&mut b);
        let password = b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let u = app
            .add_user(&actor, email, name, &password, role)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        user_ids.push(u.id);
        creds.push((email.to_string(), password, role.to_string()));
    }
    let managers = [user_ids[1], user_ids[2]];

    let store = &app.store;
    let policies = [
        ("家电三包（国家标准）", WarrantyPolicy::statutory()),
        (
            "手机三包",
            WarrantyPolicy {
                return_days: 7,
                exchange_days: 15,
                repair_months: 12,
                repair_limit: 2,
                void_conditions: VoidCondition::ALL.to_vec(),
            },
        ),
        (
            "电脑三包（两年保修）",
            WarrantyPolicy {
                return_days: 7,
                exchange_days: 15,
                repair_months: 24,
                repair_limit: 2,
                void_conditions: VoidCondition::ALL.to_vec(),
            },
        ),
        (
            "小家电保修",
            WarrantyPolicy {
                return_days: 7,
                exchange_days: 15,
                repair_months: 12,
                repair_limit: 0,
                void_conditions: vec![VoidCondition::Misuse, VoidCondition::UnauthorizedRepair],
            },
        ),
    ];
    let mut policy_ids = Vec::new();
    for (name, p) in &policies {
        policy_ids.push(store.create_policy(&actor, name, p, now).await?);
    }
    let mut cat_ids = Vec::new();
    for (name, policy) in CATEGORIES {
        cat_ids.push(
            store
                .create_category(&actor, name, None, Some(policy_ids[*policy]), now)
                .await?,
        );
    }
    let drafts: Vec<ProductDraft> = PRODUCTS
        .iter()
        .map(|p| ProductDraft {
            sku: p.sku.into(),
            name: p.name.into(),
            category_id: cat_ids[p.category],
            policy_id: None,
            price: p.price,
            currency: "CNY".into(),
            serialized: true,
            strategy: if p.category == 7 {
                AfterSalesStrategy::Partial
            } else {
                AfterSalesStrategy::Comprehensive
            },
        })
        .collect();
    let product_ids = store.create_products(&actor, &drafts, now).await?;
    // The partner service centres cover their cities (Chengdu: air conditioners and
    // water heaters only) and answer to their own SLA targets.
    let mut outlet_ids = Vec::new();
    for (name, kind, city, regions, lines) in [
        ("北京朝阳旗舰店", "own", "北京", &[][..], &[][..]),
        ("上海徐汇体验店", "own", "上海", &[], &[]),
        (
            "广州天河授权服务中心",
            "partner",
            "广州",
            &["广州", "佛山"],
            &[],
        ),
        (
            "成都武侯授权服务中心",
            "partner",
            "成都",
            &["成都"],
            &[0, 4],
        ),
        ("天猫官方旗舰店", "own", "杭州", &[], &[]),
        ("京东自营店", "own", "北京", &[], &[]),
    ] {
        let partner = kind == "partner";
        outlet_ids.push(
            store
                .save_outlet(
                    &actor,
                    &aftercare_app::model::Outlet {
                        id: aftercare_domain::OutletId(0),
                        name: name.into(),
                        kind: kind.into(),
                        city: Some(city.into()),
                        address: partner.then(|| format!("{city}市中心服务大厦 1 层")),
                        contact_name: partner.then(|| "站长".to_string()),
                        contact_phone: None,
                        contact_email: None,
                        regions: regions.iter().map(|r: &&str| r.to_string()).collect(),
                        categories: lines.iter().map(|i: &usize| cat_ids[*i]).collect(),
                        calendar_id: None,
                        capacity: partner.then_some(200),
                        response_minutes: partner.then_some(120),
                        resolution_minutes: partner.then_some(1440),
                        active: true,
                        version: 1,
                    },
                    now,
                )
                .await?,
        );
    }
    // Air conditioners are installed and repaired by certified people only (refrigerant
    // work); the partner's technician works at Guangzhou, his certificate running out soon.
    store
        .set_certification_required(&actor, &[(cat_ids[0], true)], now)
        .await?;
    for (user, name, skills, until) in [
        (
            user_ids[3],
            "空调安装维修上岗证",
            vec![
                aftercare_domain::request::ServiceType::Installation,
                aftercare_domain::request::ServiceType::Repair,
                aftercare_domain::request::ServiceType::Maintenance,
            ],
            today + 700.days(),
        ),
        (user_ids[7], "空调安装维修上岗证", vec![], today + 20.days()),
    ] {
        store
            .add_certificate(
                &actor,
                &aftercare_app::network_model::CertificateDraft {
                    user_id: user,
                    name: name.into(),
                    category_id: Some(cat_ids[0]),
                    skills,
                    issued_on: today - 365.days(),
                    valid_until: until,
                },
                now,
            )
            .await?;
    }
    // What a visit must do, per service type.
    {
        use aftercare_domain::request::ServiceType as T;
        let common = [
            "准时到达，出示工牌",
            "穿鞋套，铺防护垫",
            "讲解故障原因和处理方案",
        ];
        for (t, own) in [
            (
                T::Repair,
                &["修后试机并请客户确认", "清理现场，带走旧件"][..],
            ),
            (
                T::Installation,
                &["按规范打孔、固定，检查管路密封", "试机并讲解使用方法"],
            ),
            (T::Maintenance, &["清洗滤网和换热器", "检查运行参数并记录"]),
        ] {
            let items: Vec<String> = common
                .iter()
                .chain(own.iter())
                .map(|x| x.to_string())
                .collect();
            store.save_standard(&actor, t, &items, now).await?;
        }
    }
    let partner_tech = store
        .user(user_ids[7])
        .await?
        .context("a demo account disappeared")?;
    store
        .set_staff_profile(
            &actor,
            &aftercare_app::desk_model::StaffProfile {
                user_id: user_ids[7],
                name: partner_tech.name,
                role: partner_tech.role,
                active: true,
                outlet_id: Some(outlet_ids[2]),
                partner: true,
                skills: vec![],
                regions: vec![],
                capacity: 40,
                auto_assign: true,
                load: 0,
            },
            now,
        )
        .await?;

    let bar = if o.progress {
        let b = indicatif::ProgressBar::new(o.customers);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} customers  {per_sec}  eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let mut serial_no: u64 = 0;
    let batch = 500u64;
    let mut done = 0u64;
    while done < o.customers {
        let n = batch.min(o.customers - done);
        let mut customers = Vec::with_capacity(n as usize);
        for i in 0..n {
            let idx = done + i;
            let org = rng.random_ratio(1, 15);
            let name = if org {
                pick(&mut rng, COMPANIES).to_string()
            } else {
                format!("{}{}", pick(&mut rng, SURNAMES), pick(&mut rng, GIVEN))
            };
            let (province, city, districts) = *pick(&mut rng, CITIES);
            let mut phones = vec![PhoneEntry {
                number: phone(&mut rng),
                label: Some("手机".into()),
                primary: true,
            }];
            if rng.random_ratio(1, 4) {
                phones.push(PhoneEntry {
                    number: phone(&mut rng),
                    label: Some("家里".into()),
                    primary: false,
                });
            }
            let mut emails = Vec::new();
            if rng.random_ratio(3, 5) {
                let domain = pick(
                    &mut rng,
                    &["qq.com", "163.com", "126.com", "gmail.com", "outlook.com"],
                );
                let e = format!(
                    "{}{}@{domain}",
                    if org {
                        format!("service{idx}")
                    } else {
                        pinyin_of(&name)
                    },
                    rng.random_range(1..9999)
                );
                if let Ok(e) = Email::parse(&e) {
                    emails.push(EmailEntry {
                        address: e,
                        primary: true,
                    });
                }
            }
            let mut family = Vec::new();
            if !org && rng.random_ratio(1, 3) {
                let y = rng.random_range(1950..2020);
                family.push(FamilyMember {
                    name: format!("{}{}", pick(&mut rng, SURNAMES), pick(&mut rng, GIVEN)),
                    relation: pick(&mut rng, &["配偶", "父亲", "母亲", "儿子", "女儿"]).to_string(),
                    birthday: Date::new(y, rng.random_range(1..=12), rng.random_range(1..=28)).ok(),
                });
            }
            let mut dates = Vec::new();
            if rng.random_ratio(1, 5) {
                dates.push(ImportantDate {
                    label: if org {
                        "公司周年".into()
                    } else {
                        "结婚纪念日".into()
                    },
                    date: Date::new(
                        rng.random_range(1995..2024),
                        rng.random_range(1..=12),
                        rng.random_range(1..=28),
                    )
                    .unwrap_or(today),
                });
            }
            let consent: Vec<ConsentChannel> = ConsentChannel::ALL
                .iter()
                .copied()
                .filter(|_| rng.random_ratio(1, 2))
                .collect();
            let tags: Vec<String> = (0..rng.random_range(0..3))
                .map(|_| pick(&mut rng, TAGS).to_string())
                .fold(Vec::new(), |mut v, t| {
                    if !v.contains(&t) {
                        v.push(t)
                    }
                    v
                });
            customers.push(CustomerDraft {
                kind: if org {
                    CustomerKind::Organisation
                } else {
                    CustomerKind::Person
                },
                name,
                company: if org {
                    None
                } else if rng.random_ratio(1, 4) {
                    Some(pick(&mut rng, COMPANIES).to_string())
                } else {
                    None
                },
                title: None,
                birthday: if org {
                    None
                } else {
                    Date::new(
                        rng.random_range(1955..2004),
                        rng.random_range(1..=12),
                        rng.random_range(1..=28),
                    )
                    .ok()
                },
                phones,
                emails,
                addresses: vec![Address {
                    label: Some("家".into()),
                    province: Some(province.into()),
                    city: Some(city.into()),
                    district: Some(pick(&mut rng, districts).to_string()),
                    street: format!(
                        "{}{}号{}室",
                        pick(&mut rng, STREETS),
                        rng.random_range(1..300),
                        rng.random_range(101..2505)
                    ),
                    postcode: Some(format!("{:06}", rng.random_range(100000..860000))),
                    primary: true,
                }],
                family,
                dates,
                consent,
                account_manager_id: if rng.random_ratio(1, 10) {
                    Some(*pick(&mut rng, &managers))
                } else {
                    None
                },
                tags,
                habits: rng
                    .random_ratio(1, 4)
                    .then(|| pick(&mut rng, HABITS).to_string()),
                preferences: rng
                    .random_ratio(1, 4)
                    .then(|| pick(&mut rng, PREFS).to_string()),
                notes: None,
                source: Some(*pick(&mut rng, Touchpoint::ALL)),
                external_ref: None,
                referred_by: None,
            });
        }
        // Some people arrive twice, through another channel, with the same phone.
        if done == 0 && n >= 10 {
            for k in 0..(n / 50).max(1) {
                let mut twin = customers[k as usize * 3].clone();
                twin.source = Some(Touchpoint::Web);
                twin.emails.clear();
                twin.tags = vec!["线上注册".into()];
                customers.push(twin);
            }
        }
        let ids = store
            .create_customers(&actor, &customers, now)
            .await
            .context("creating customers")?;

        let mut orders = Vec::new();
        for id in &ids {
            for ago in purchase_ages(&mut rng) {
                let ordered_on = today.checked_sub(ago.days()).unwrap_or(today);
                let mut lines = Vec::new();
                for _ in 0..rng.random_range(1..3) {
                    let pi = rng.random_range(0..PRODUCTS.len());
                    if lines
                        .iter()
                        .any(|l: &OrderLine| l.product_id == product_ids[pi])
                    {
                        continue;
                    }
                    serial_no += 1;
                    let serial = format!(
                        "{}-{}{:07}",
                        PRODUCTS[pi].sku.split('-').next().unwrap_or("SN"),
                        ordered_on.year(),
                        serial_no
                    );
                    let discount = if rng.random_ratio(1, 4) {
                        PRODUCTS[pi].price / 20
                    } else {
                        0
                    };
                    lines.push(OrderLine {
                        product_id: product_ids[pi],
                        quantity: 1,
                        unit_price: PRODUCTS[pi].price,
                        discount,
                        serials: vec![serial],
                    });
                }
                let channel = *pick(&mut rng, SalesChannel::ALL);
                let outlet = match channel {
                    SalesChannel::Ecommerce => Some(outlet_ids[4 + rng.random_range(0..2)]),
                    SalesChannel::Store => Some(outlet_ids[rng.random_range(0..2)]),
                    SalesChannel::Agent => Some(outlet_ids[2 + rng.random_range(0..2)]),
                    SalesChannel::Direct => None,
                };
                let delivered = ordered_on
                    .checked_add((rng.random_range(0..5) as i64).days())
                    .ok()
                    .filter(|d| *d <= today);
                let installed = delivered.filter(|_| rng.random_ratio(2, 3));
                orders.push(OrderDraft {
                    customer_id: *id,
                    channel,
                    outlet_id: outlet,
                    ordered_on,
                    delivered_on: delivered,
                    installed_on: installed,
                    location: Some(
                        pick(
                            &mut rng,
                            &["客厅", "主卧", "次卧", "厨房", "阳台", "书房", "办公室"],
                        )
                        .to_string(),
                    ),
                    status: if delivered.is_some() {
                        OrderStatus::Completed
                    } else {
                        OrderStatus::Paid
                    },
                    currency: "CNY".into(),
                    external_ref: None,
                    discount: 0,
                    payment_terms: Some(
                        pick(
                            &mut rng,
                            &["全款", "12期免息分期", "货到付款", "对公转账 30 天"],
                        )
                        .to_string(),
                    ),
                    special_needs: rng.random_ratio(1, 6).then(|| {
                        pick(
                            &mut rng,
                            &[
                                "需要拆旧机",
                                "高层需吊装",
                                "周末送货",
                                "需要开增值税专用发票",
                            ],
                        )
                        .to_string()
                    }),
                    lines,
                    price_from_catalog: vec![],
                    contracts: vec![],
                    voucher: None,
                });
            }
        }
        store
            .create_orders(&actor, &orders, now)
            .await
            .context("creating orders")?;

        // A little history: repairs, services, one voiding finding now and then.
        let mut history = Vec::new();
        for order in &orders {
            if !rng.random_ratio(1, 6) {
                continue;
            }
            let Some(serial) = order.lines.first().and_then(|l| l.serials.first()) else {
                continue;
            };
            let Some(asset) = store.asset_by_serial(serial).await? else {
                continue;
            };
            let day = order
                .ordered_on
                .checked_add((rng.random_range(20..400) as i64).days())
                .unwrap_or(today)
                .min(today);
            let (kind, void_condition, note) = match rng.random_range(0..10) {
                0 => (
                    "void",
                    Some(VoidCondition::Misuse),
                    "上门检测发现外壳摔裂，属人为损坏",
                ),
                1..=5 => ("repair", None, "更换主板，恢复正常"),
                _ => ("service", None, "例行清洗保养"),
            };
            history.push((
                asset,
                AssetEventDraft {
                    kind,
                    day,
                    void_condition,
                    note: Some(note.into()),
                },
            ));
        }
        store
            .add_asset_events(&actor, &history, now)
            .await
            .context("recording product history")?;
        let mut contacts = Vec::new();
        for id in &ids {
            for _ in 0..rng.random_range(0..3) {
                let (tp, subject) = *pick(&mut rng, SUBJECTS);
                let touchpoint = Touchpoint::parse(tp).unwrap_or(Touchpoint::Phone);
                contacts.push((
                    *id,
                    InteractionDraft {
                        touchpoint,
                        direction: "inbound",
                        subject: subject.into(),
                        body: None,
                    },
                ));
            }
        }
        store
            .add_interactions(&actor, &contacts, now)
            .await
            .context("logging contacts")?;
        done += n;
        if let Some(b) = &bar {
            b.set_position(done);
        }
    }
    if let Some(b) = bar {
        b.finish();
    }
    desk(app, &user_ids, &mut rng).await?;
    library(app, user_ids[1], cat_ids[0], &product_ids).await?;
    Ok(creds)
}

/// The message library's first texts, approved, and two offers for the desk: an extended
/// warranty for air conditioners (sold as a product, and a care plan that covers repairs
/// and maintenance for a year after the guarantee) and an upgrade after repeated repairs;
/// yearly maintenance for air conditioners and water heaters; a call-back script for
/// campaign steps. Campaigns are left to the marketer to build.
async fn library(
    app: &App,
    manager: UserId,
    aircon: aftercare_domain::CategoryId,
    products: &[aftercare_domain::ProductId],
) -> anyhow::Result<()> {
    use aftercare_app::campaign_model::Offer;
    use aftercare_app::desk_model::MessageText;
    use aftercare_domain::offer::OfferKind;
    let actor = Actor::system("demo");
    let store = &app.store;
    let now = app.now();
    let mut ids = Vec::new();
    for (name, hans, hant, en) in [
        (
            "预约确认",
            "{customer_name}您好，您的服务请求 {request_number} 已安排在 {visit_time} 上门，届时请保持电话畅通。—{agent_name}",
            "{customer_name}您好，您的服務請求 {request_number} 已安排在 {visit_time} 上門，屆時請保持電話暢通。—{agent_name}",
            "Dear {customer_name}, your request {request_number} is booked for a visit at {visit_time}. —{agent_name}",
        ),
        (
            "保修到期提醒",
            "{customer_name}您好，您的{product_name}保修将于 {warranty_end} 到期。到期前加购延保一年，维修零件和上门服务全部免费。",
            "{customer_name}您好，您的{product_name}保固將於 {warranty_end} 到期。到期前加購延保一年，維修零件和上門服務全部免費。",
            "Dear {customer_name}, the warranty of your {product_name} ends on {warranty_end}. Extend it by a year before then: parts and visits included.",
        ),
        (
            "以旧换新推荐",
            "{customer_name}您好，您的{product_name}已多次维修。现在以旧换新可抵扣 500 元，并享新机三包。",
            "{customer_name}您好，您的{product_name}已多次維修。現在以舊換新可抵扣 500 元，並享新機三包。",
            "Dear {customer_name}, your {product_name} has needed several repairs. Trade it in now for 500 yuan off a new one.",
        ),
        (
            "受理承诺",
            "{customer_name}您好，您的服务请求 {request_number} 已受理。我们承诺 2 小时内回复，24 小时内上门。",
            "{customer_name}您好，您的服務請求 {request_number} 已受理。我們承諾 2 小時內回覆，24 小時內上門。",
            "Dear {customer_name}, we have your request {request_number}. We reply within 2 hours and visit within 24 hours.",
        ),
        (
            "回访话术",
            "{customer_name}您好，我是售后服务中心的客服。想了解一下您最近的使用体验，有什么需要我们帮忙的吗？",
            "{customer_name}您好，我是售後服務中心的客服。想了解一下您最近的使用體驗，有什麼需要我們幫忙的嗎？",
            "Hello {customer_name}, this is the service centre. How has everything been working for you lately, and is there anything we can help with?",
        ),
    ] {
        let t = MessageText {
            id: 0,
            name: name.into(),
            body_zh_hans: hans.into(),
            body_zh_hant: hant.into(),
            body_en: en.into(),
            status: "approved".into(),
            owner_name: "周经理".into(),
            updated_at: now,
            version: 1,
        };
        ids.push(
            store
                .save_message_text(&actor, &t, Some(manager), now)
                .await?,
        );
    }
    let extension = store
        .create_products(
            &actor,
            &[ProductDraft {
                sku: "EXT-AC-1Y".into(),
                name: "延保服务一年".into(),
                category_id: aircon,
                policy_id: None,
                price: 29_900,
                currency: "CNY".into(),
                serialized: false,
                strategy: AfterSalesStrategy::Comprehensive,
            }],
            now,
        )
        .await?;
    for (name, kind, category, product, text) in [
        (
            "空调延保一年",
            OfferKind::WarrantyExtension,
            Some(aircon.get()),
            extension.first().map(|p| p.get()),
            ids[1],
        ),
        ("以旧换新", OfferKind::Upgrade, None, None, ids[2]),
    ] {
        let o = Offer {
            id: 0,
            name: name.into(),
            kind,
            category_id: category,
            within_days: 60,
            min_repairs: 2,
            months: 0,
            text_id: text,
            text_name: String::new(),
            product_id: product,
            product_name: None,
            window_days: 30,
            active: true,
            owner_name: "市场部小王".into(),
            created_at: now,
            version: 1,
        };
        store.save_offer(&actor, &o).await?;
    }
    if let Some(ext) = extension.first() {
        let plan = aftercare_app::care_model::CarePlan {
            id: 0,
            product_id: ext.get(),
            product_name: String::new(),
            category_id: Some(aircon.get()),
            months: 12,
            extends_warranty: true,
            covers: vec![
                aftercare_domain::request::ServiceType::Repair,
                aftercare_domain::request::ServiceType::Maintenance,
            ],
            active: true,
            owner_name: "周经理".into(),
            created_at: now,
            version: 1,
        };
        store.save_care_plan(&actor, &plan).await?;
    }
    // Air conditioners (the first two products) and the water heater, once a year.
    for (i, p) in products.iter().enumerate() {
        if PRODUCTS
            .get(i)
            .is_some_and(|s| matches!(s.sku, "KFR-35GW" | "KFR-72LW" | "JSQ30-16"))
        {
            store
                .set_maintenance(&actor, p.get(), Some(12), now)
                .await?;
        }
    }
    Ok(())
}

/// The service desk's part: who takes what, a few help articles in three languages, and
/// some open requests on the first customers' items.
async fn desk(app: &App, user_ids: &[UserId], rng: &mut StdRng) -> anyhow::Result<()> {
    use aftercare_app::desk::RequestInput;
    use aftercare_app::desk_model::StaffProfile;
    use aftercare_app::ports::ArticleDraft;
    use aftercare_domain::request::RequestChannel;
    let actor = Actor::system("demo");
    let now = app.now();
    let store = &app.store;
    use aftercare_domain::request::ServiceType as T;
    for (i, (user, skills)) in [
        (
            user_ids[2],
            vec![
                T::Consultation,
                T::TechnicalSupport,
                T::Complaint,
                T::Return,
                T::Exchange,
                T::Demonstration,
                T::Training,
                T::Upgrade,
            ],
        ),
        (
            user_ids[3],
            vec![
                T::Repair,
                T::Installation,
                T::Maintenance,
                T::Commissioning,
                T::Delivery,
            ],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let u = store
            .user(user)
            .await?
            .context("a demo account disappeared")?;
        store
            .set_staff_profile(
                &actor,
                &StaffProfile {
                    user_id: user,
                    name: u.name,
                    role: u.role,
                    active: true,
                    outlet_id: None,
                    partner: false,
                    skills,
                    regions: vec![],
                    capacity: 30 + 10 * i as i64,
                    auto_assign: true,
                    load: 0,
                },
                now,
            )
            .await?;
    }
    for (kind, titles, bodies) in [
        (
            "faq",
            [
                "空调不制冷怎么办？",
                "冷氣不冷怎麼辦？",
                "Air conditioner not cooling?",
            ],
            [
                "1. 确认遥控器为制冷模式，温度低于室温。\n2. 清洗过滤网（每两周一次）。\n3. 检查室外机是否通风、风扇是否转动。\n仍不制冷请在线报修，保修期内免费上门。",
                "1. 確認遙控器為冷氣模式，溫度低於室溫。\n2. 清洗濾網（每兩週一次）。\n3. 檢查室外機是否通風、風扇是否轉動。\n仍不冷請線上報修，保固期內免費到府。",
                "1. Check the remote is in cooling mode, set below room temperature.\n2. Clean the filter (every two weeks).\n3. Check the outdoor unit has air and its fan turns.\nStill not cooling? Ask for a repair online: free within the warranty.",
            ],
        ),
        (
            "faq",
            [
                "洗衣机不脱水",
                "洗衣機不脫水",
                "Washing machine does not spin",
            ],
            [
                "衣物过少或偏在一侧会导致不平衡而停止脱水：请把衣物抖散后再试。排水管堵塞也会停止脱水。",
                "衣物過少或偏在一側會導致不平衡而停止脫水：請把衣物抖散後再試。排水管堵塞也會停止脫水。",
                "Too few clothes, or clothes on one side, unbalance the drum and stop the spin: spread them out and try again. A blocked drain hose stops it too.",
            ],
        ),
        (
            "manual",
            [
                "如何登记产品并开始保修",
                "如何登記產品並開始保固",
                "Registering a product starts its warranty",
            ],
            [
                "在「我的服务」页面填写型号、序列号（机身铭牌上）和购买日期即可登记，三包期自购买日起算。",
                "在「我的服務」頁面填寫型號、序號（機身銘牌上）和購買日期即可登記，保固期自購買日起算。",
                "On My service, enter the model, the serial number (on the rating plate) and the purchase date; the warranty runs from the purchase date.",
            ],
        ),
    ] {
        store
            .create_article(
                &actor,
                &ArticleDraft {
                    kind: kind.into(),
                    product_id: None,
                    titles: titles.map(str::to_string),
                    bodies: bodies.map(str::to_string),
                    published: true,
                },
                now,
            )
            .await?;
    }
    let first = store
        .customers(&aftercare_app::input::CustomerQuery {
            limit: Some(30),
            ..Default::default()
        })
        .await?;
    let subjects = [
        ("repair", "空调不制冷"),
        ("repair", "洗衣机漏水"),
        ("installation", "新空调预约安装"),
        ("maintenance", "热水器年度保养"),
        ("consultation", "想了解以旧换新政策"),
        ("complaint", "上门师傅迟到"),
        ("technical_support", "App 无法连接设备"),
    ];
    let mut opened = Vec::new();
    for c in first.items {
        let asset = store.assets_of(c.id).await?.first().map(|a| a.id);
        let (ty, subject) = subjects[rng.random_range(0..subjects.len())];
        let input = RequestInput {
            customer_id: c.id,
            asset_id: asset.filter(|_| ty != "consultation" && ty != "complaint"),
            service_type: ty.into(),
            subject: subject.into(),
            channel: Some("phone".into()),
            ..Default::default()
        };
        let (id, _) = app
            .open_request_as(&actor, &input, RequestChannel::Phone, None, None, None)
            .await
            .map_err(|e| anyhow::anyhow!("demo request: {e}"))?;
        opened.push((id, c.id));
    }
    // Scores, tiers and stages for everyone, as a first recompute would give them.
    let job = app
        .start_recompute_as(&actor)
        .await
        .map_err(|e| anyhow::anyhow!("demo scoring: {e}"))?;
    app.run_recompute(&actor, job.id, None, &|_, _| {})
        .await
        .map_err(|e| anyhow::anyhow!("demo scoring: {e}"))?;
    outcomes(app, user_ids, &opened).await?;
    feedback(app, &actor).await
}

/// A third of the open requests resolved by the manager and rated by their customers,
/// and the surveys that follow them, most answered: the voice-of-the-customer overview
/// has word of mouth and score trends to show.
async fn outcomes(
    app: &App,
    user_ids: &[UserId],
    opened: &[(RequestId, CustomerId)],
) -> anyhow::Result<()> {
    use aftercare_app::desk::{RatingInput, RequestPatch, TransitionInput};
    use aftercare_app::survey::SurveyAnswer;
    let fail = |e: aftercare_app::AppError| anyhow::anyhow!("demo outcomes: {e}");
    let manager = app
        .store
        .user(user_ids[1])
        .await?
        .context("the demo manager")?;
    let p = aftercare_app::service::Principal {
        user: manager,
        role: aftercare_domain::account::Role::Manager,
        scopes: None,
    };
    let comments = [
        (5, Some("师傅很专业，一次就修好了")),
        (4, None),
        (2, Some("等了三天才有人上门，太慢了")),
        (5, Some("客服态度很好，谢谢")),
        (3, None),
    ];
    for (k, (id, customer)) in opened.iter().step_by(3).enumerate() {
        let version = app
            .request_detail(&p, *id)
            .await
            .map_err(fail)?
            .request
            .version;
        let patch = RequestPatch {
            version,
            assignee_id: Some(p.user.id),
            ..Default::default()
        };
        if app.patch_request(&p, *id, &patch).await.is_err() {
            continue; // a complaint or a consultation the manager cannot take this way
        }
        let mut ok = true;
        for st in ["in_progress", "resolved"] {
            let version = app
                .request_detail(&p, *id)
                .await
                .map_err(fail)?
                .request
                .version;
            let t = TransitionInput {
                status: st.into(),
                version,
                root_cause: Some("安装不规范".into()),
                remedy: Some("重新安装并回访".into()),
                ..Default::default()
            };
            ok = ok && app.transition(&p, *id, &t).await.is_ok();
        }
        if !ok {
            continue;
        }
        let (stars, comment) = comments[k % comments.len()];
        let rating = RatingInput {
            stars,
            comment: comment.map(str::to_owned),
        };
        app.rate_request(*customer, &Actor::system("demo customer"), *id, &rating)
            .await
            .map_err(fail)?;
    }
    app.survey_round().await.map_err(fail)?;
    let mut answered = 0;
    for (_, customer) in opened {
        for s in app.store.open_surveys(*customer, app.now()).await? {
            answered += 1;
            if answered % 4 == 0 {
                continue; // some never answer
            }
            let link = app.survey_link(&s).await.map_err(fail)?;
            let token = link.rsplit('/').next().unwrap_or_default().to_owned();
            let nps = [10, 9, 8, 6, 10, 3, 9][answered % 7];
            let answer = SurveyAnswer {
                csat: Some(if nps >= 9 {
                    5
                } else if nps >= 7 {
                    4
                } else {
                    2
                }),
                nps: Some(nps),
                ces: Some(if nps >= 7 { 6 } else { 3 }),
                comment: (nps <= 6).then(|| "上门时间一改再改，希望能准时一点".to_owned()),
                ..Default::default()
            };
            app.answer_survey(&token, &answer).await.map_err(fail)?;
        }
    }
    Ok(())
}

/// The voice of the customer: what the open requests said, and reviews and survey
/// comments (texts from the labelled set) from the next customers about what they own.
async fn feedback(app: &App, actor: &Actor) -> anyhow::Result<()> {
    use aftercare_app::feedback::Captured;
    use aftercare_domain::feedback::FeedbackSource;
    use aftercare_insight::text::{LABELLED_TSV, parse_labelled};
    let fail = |e: aftercare_app::AppError| anyhow::anyhow!("demo feedback: {e}");
    app.capture_feedback().await.map_err(fail)?;
    let texts = parse_labelled(LABELLED_TSV)?;
    let next = app
        .store
        .customers(&aftercare_app::input::CustomerQuery {
            limit: Some(100),
            ..Default::default()
        })
        .await?;
    let sources = [
        FeedbackSource::Review,
        FeedbackSource::Survey,
        FeedbackSource::Visit,
    ];
    // Each text goes to a customer who owns what it talks about (a washing-machine review
    // to a washing machine's owner), or, when it names nothing the catalogue sells (a
    // microwave), to a customer with no product linked.
    let pool = &next.items[next.items.len().min(30)..];
    if pool.is_empty() {
        return Ok(());
    }
    let mut owned = Vec::with_capacity(pool.len());
    for c in pool {
        owned.push((c.id, app.store.assets_of(c.id).await?));
    }
    let mut turn = 0usize;
    for (i, text) in texts.iter().step_by(5).take(pool.len()).enumerate() {
        let kind = talks_about(&text.example.text);
        let chosen = kind.and_then(|k| {
            (0..owned.len())
                .map(|j| (turn + j) % owned.len())
                .find_map(|j| {
                    let (c, assets) = &owned[j];
                    assets
                        .iter()
                        .find(|a| a.product_name.contains(k))
                        .map(|a| (j, *c, Some(a.clone())))
                })
        });
        let (j, customer, asset) =
            chosen.unwrap_or((turn % owned.len(), owned[turn % owned.len()].0, None));
        turn = j + 1;
        let c = customer;
        let said = Captured {
            origin: format!("demo:{}", text.id),
            rating: None,
            source: sources[i % sources.len()],
            body: text.example.text.clone(),
            customer_id: Some(c),
            product_id: asset.as_ref().map(|a| a.product_id),
            asset_id: asset.map(|a| a.id),
            request_id: None,
            outlet_id: None,
            at: app.now(),
        };
        app.take_in(actor, said, None).await.map_err(fail)?;
    }
    Ok(())
}

/// The catalogue's kind of product a text talks about, by the word the demo's product
/// names use (simplified; the texts are in both scripts), if any.
fn talks_about(text: &str) -> Option<&'static str> {
    const KINDS: &[(&str, &[&str])] = &[
        ("空调", &["空调", "空調", "冷气", "冷氣"]),
        ("冰箱", &["冰箱", "雪柜", "雪櫃"]),
        ("洗衣机", &["洗衣机", "洗衣機"]),
        ("电视", &["电视", "電視"]),
        ("热水器", &["热水器", "熱水器"]),
    ];
    KINDS
        .iter()
        .find(|(_, words)| words.iter().any(|w| text.contains(w)))
        .map(|(k, _)| *k)
}

/// How many days ago a demo customer bought, oldest first: buying at their own pace
/// (every month and a half to every year and a half) and stopping for good after any
/// purchase with a chance of one in four, as the BG/NBD model supposes. One in five
/// never bought.
fn purchase_ages(rng: &mut impl Rng) -> Vec<i64> {
    if rng.random_ratio(1, 5) {
        return vec![];
    }
    let every = [45.0, 120.0, 300.0, 540.0][rng.random_range(0..4)];
    let mut ago = rng.random_range(20..1100) as f64;
    let mut out = vec![ago as i64];
    while out.len() < 12 && !rng.random_ratio(1, 4) {
        let u: f64 = rng.random_range(0.0001..1.0);
        ago -= -u.ln() * every;
        if ago < 0.0 {
            break;
        }
        out.push(ago as i64);
    }
    out
}
