//! The interface's words in 简体中文, 繁體中文 and English. One table: a key and its three
//! translations, so a missing translation is a compile-time gap you can see in one row.

use aftercare_domain::lang::Lang;
use std::collections::HashMap;
use std::sync::LazyLock;

/// (key, zh-Hans, zh-Hant, en)
const MESSAGES: &[(&str, &str, &str, &str)] = &[
    (
        "app.name",
        "Aftercare 售后服务",
        "Aftercare 售後服務",
        "Aftercare",
    ),
    ("nav.customers", "客户", "客戶", "Customers"),
    ("nav.products", "产品", "產品", "Products"),
    ("nav.orders", "订单", "訂單", "Orders"),
    ("nav.duplicates", "重复客户", "重複客戶", "Duplicates"),
    ("nav.audit", "审计日志", "審計日誌", "Audit log"),
    (
        "order.line_discount",
        "优惠（元）",
        "優惠（元）",
        "Discount (yuan)",
    ),
    (
        "error.cannot_lock_yourself_out",
        "不能停用自己的账号或取消自己的管理员角色。",
        "不能停用自己的帳號或取消自己的管理員角色。",
        "You cannot deactivate your own account or give up your own admin role.",
    ),
    (
        "error.file_unreadable",
        "无法读取文件。",
        "無法讀取檔案。",
        "The file cannot be read.",
    ),
    (
        "error.phase_unknown",
        "阶段应为 pre_sale、in_sale 或 after_sale。",
        "階段應為 pre_sale、in_sale 或 after_sale。",
        "must be pre_sale, in_sale or after_sale.",
    ),
    (
        "error.service_type_unknown",
        "未知服务类型。",
        "未知服務類型。",
        "is not a known service type.",
    ),
    ("import.errors", "错误", "錯誤", "Errors"),
    (
        "error.file_encoding_unknown",
        "文件不是 UTF-8、GBK/GB18030 或 Big5 编码的文本，请另存为“CSV UTF-8”格式。",
        "檔案不是 UTF-8、GBK/GB18030 或 Big5 編碼的文字，請另存為「CSV UTF-8」格式。",
        "the file is not text in UTF-8, GBK/GB18030 or Big5; save it as CSV UTF-8.",
    ),
    (
        "error.file_not_utf8",
        "第 {n} 列不是 UTF-8 文本，请另存为“CSV UTF-8”格式。",
        "第 {n} 欄不是 UTF-8 文字，請另存為「CSV UTF-8」格式。",
        "column {n} is not UTF-8 text; save the file as CSV UTF-8.",
    ),
    (
        "error.file_control_character",
        "第 {n} 列含有不可见的控制字符（如 NUL），请删除后再导入。",
        "第 {n} 欄含有不可見的控制字元（如 NUL），請刪除後再匯入。",
        "column {n} contains an invisible control character (such as NUL); remove it and import again.",
    ),
    (
        "error.file_no_header",
        "第一行须为列名。",
        "第一列須為欄位名稱。",
        "The first row must name the columns.",
    ),
    (
        "error.file_too_many_rows",
        "文件超过 {n} 行数据。",
        "檔案超過 {n} 列資料。",
        "The file has more than {n} data rows.",
    ),
    (
        "error.file_too_many_columns",
        "文件超过 {n} 列。",
        "檔案超過 {n} 欄。",
        "The file has more than {n} columns.",
    ),
    (
        "error.file_too_many_cells",
        "文件超过 {n} 个单元格。",
        "檔案超過 {n} 個儲存格。",
        "The file has more than {n} cells.",
    ),
    (
        "error.file_too_large",
        "文件解压后超过 {n} MB。",
        "檔案解壓後超過 {n} MB。",
        "The file unpacks to more than {n} MB.",
    ),
    (
        "error.file_too_many_parts",
        "这不是电子表格：文件包含超过 {n} 个部件。",
        "這不是試算表：檔案包含超過 {n} 個部件。",
        "This is not a spreadsheet: it holds more than {n} parts.",
    ),
    ("import.row", "行", "行", "Row"),
    (
        "slot.day",
        "{m}月{d}日 {wd}",
        "{m}月{d}日 {wd}",
        "{wd} {d} {mon}",
    ),
    ("weekday.1", "周一", "週一", "Mon"),
    ("weekday.2", "周二", "週二", "Tue"),
    ("weekday.3", "周三", "週三", "Wed"),
    ("weekday.4", "周四", "週四", "Thu"),
    ("weekday.5", "周五", "週五", "Fri"),
    ("weekday.6", "周六", "週六", "Sat"),
    ("weekday.7", "周日", "週日", "Sun"),
    ("audit_action.create", "创建", "建立", "created"),
    ("audit_action.update", "修改", "修改", "changed"),
    ("audit_action.answer", "回答", "回答", "answered"),
    ("audit_action.correct", "更正", "更正", "corrected"),
    (
        "audit_action.dismiss_duplicate",
        "标为非重复",
        "標為非重複",
        "marked not a duplicate",
    ),
    (
        "audit_action.erase",
        "删除个人信息",
        "刪除個人資料",
        "personal information erased",
    ),
    (
        "audit_action.export_personal_data",
        "导出个人信息",
        "匯出個人資料",
        "personal information exported",
    ),
    ("audit_action.merge", "合并", "合併", "merged"),
    ("audit_action.merged_into", "并入", "併入", "merged into"),
    (
        "audit_action.reset_password",
        "重设密码",
        "重設密碼",
        "password reset",
    ),
    ("audit_action.revoke", "停用", "停用", "revoked"),
    (
        "audit_action.set_lang",
        "设置邮件语言",
        "設定郵件語言",
        "mail language set",
    ),
    (
        "audit_action.create_calendar_feed",
        "生成日历订阅",
        "產生行事曆訂閱",
        "calendar subscription made",
    ),
    (
        "audit_action.revoke_calendar_feed",
        "停用日历订阅",
        "停用行事曆訂閱",
        "calendar subscription revoked",
    ),
    ("entity.api_token", "API 令牌", "API 權杖", "API token"),
    ("entity.article", "文章", "文章", "article"),
    ("entity.asset", "产品档案", "產品檔案", "item"),
    (
        "entity.asset_event",
        "使用档案记录",
        "使用檔案記錄",
        "item record",
    ),
    ("entity.calendar", "工作日历", "工作行事曆", "calendar"),
    ("entity.category", "品类", "品類", "category"),
    ("entity.customer", "客户", "客戶", "customer"),
    (
        "entity.customer_expert",
        "专家客户",
        "專家客戶",
        "expert customer",
    ),
    (
        "entity.customer_tier",
        "客户等级",
        "客戶等級",
        "customer tier",
    ),
    ("entity.feedback", "反馈", "回饋", "feedback"),
    ("entity.improvement", "改进项", "改進項", "backlog entry"),
    ("entity.interaction", "接触记录", "接觸記錄", "contact"),
    ("entity.order", "订单", "訂單", "order"),
    ("entity.outlet", "网点", "網點", "outlet"),
    (
        "entity.portal_account",
        "门户账户",
        "入口帳戶",
        "portal account",
    ),
    ("entity.product", "产品", "產品", "product"),
    ("entity.referral", "推荐", "推薦", "referral"),
    ("entity.request", "服务请求", "服務請求", "request"),
    ("entity.rma", "退换货", "退換貨", "return or exchange"),
    ("entity.sla_policy", "时效规则", "時效規則", "SLA policy"),
    (
        "entity.staff_profile",
        "员工档案",
        "員工檔案",
        "staff profile",
    ),
    ("entity.survey", "满意度调查", "滿意度調查", "survey"),
    ("entity.text_word", "词典词", "詞典詞", "dictionary word"),
    ("entity.user", "用户", "使用者", "user"),
    ("entity.visit", "上门", "到府", "visit"),
    (
        "entity.warranty_policy",
        "三包政策",
        "保固政策",
        "warranty policy",
    ),
    ("tlx.reopened", "重新打开", "重新開啟", "reopened"),
    (
        "tlx.expert",
        "成为客户联盟专家",
        "成為客戶聯盟專家",
        "became an expert of the customer alliance",
    ),
    ("tl.feedback", "客户反馈", "客戶回饋", "Feedback"),
    ("tl.expert", "客户联盟", "客戶聯盟", "Customer alliance"),
    ("tlx.cancelled", "已取消", "已取消", "cancelled"),
    (
        "tlx.resolved_by",
        "由 {by} 解决",
        "由 {by} 解決",
        "resolved by {by}",
    ),
    (
        "tlx.sla",
        "时效：首次响应{response}，解决{resolution}",
        "時效：首次回應{response}，解決{resolution}",
        "SLA: response {response}, resolution {resolution}",
    ),
    (
        "tlx.message",
        "客户留言（{channel}）",
        "客戶留言（{channel}）",
        "customer message ({channel})",
    ),
    (
        "tlx.visit_booked",
        "预约上门 {when}，技师 {who}",
        "預約到府 {when}，技師 {who}",
        "visit booked {when} with {who}",
    ),
    (
        "tlx.visit_done",
        "上门完成（{who}，{m} 分钟）：{work}",
        "到府完成（{who}，{m} 分鐘）：{work}",
        "visit done by {who} ({m} min): {work}",
    ),
    (
        "tlx.visit_cancelled",
        "上门已取消",
        "到府已取消",
        "visit cancelled",
    ),
    (
        "tlx.rated",
        "评分 {n}/5 {stars}",
        "評分 {n}/5 {stars}",
        "rated {n}/5 {stars}",
    ),
    (
        "tlx.rma_requested",
        "申请{kind}：{reason}",
        "申請{kind}：{reason}",
        "{kind} requested: {reason}",
    ),
    ("actor.cli", "命令行", "命令列", "command line"),
    ("actor.demo", "演示数据", "示範資料", "demo data"),
    (
        "actor.feedback",
        "系统（客户之声）",
        "系統（客戶之聲）",
        "system (voice of the customer)",
    ),
    (
        "actor.scoring",
        "系统（客户价值）",
        "系統（客戶價值）",
        "system (customer value)",
    ),
    (
        "actor.sla",
        "系统（服务时效）",
        "系統（服務時效）",
        "system (SLA)",
    ),
    (
        "actor.survey",
        "系统（满意度调查）",
        "系統（滿意度調查）",
        "system (surveys)",
    ),
    ("actor.portal", "客户门户", "客戶入口", "portal"),
    ("actor.mail", "来信", "來信", "mail from"),
    ("customer.lang", "邮件语言", "郵件語言", "Mail language"),
    (
        "customer.lang_unknown",
        "未设置（简体中文）",
        "未設定（簡體中文）",
        "Not set (simplified Chinese)",
    ),
    ("lang.zh-Hans", "简体中文", "簡體中文", "Simplified Chinese"),
    (
        "lang.zh-Hant",
        "繁體中文",
        "繁體中文",
        "Traditional Chinese",
    ),
    ("lang.en", "English", "English", "English"),
    (
        "error.lang_unknown",
        "不是可选的语言（简体中文、繁體中文、English）。",
        "不是可選的語言（簡體中文、繁體中文、English）。",
        "is not one of the languages (zh-Hans, zh-Hant, en).",
    ),
    ("done.saved", "已保存。", "已儲存。", "Saved."),
    ("done.created", "已创建。", "已建立。", "Created."),
    ("done.merged", "已合并。", "已合併。", "Merged."),
    ("action.back", "返回", "返回", "Back"),
    ("action.home", "回到首页", "回到首頁", "Home"),
    (
        "error.title.forbidden",
        "没有权限",
        "沒有權限",
        "Not allowed",
    ),
    ("error.title.not_found", "找不到", "找不到", "Not found"),
    (
        "error.title.invalid",
        "输入有误",
        "輸入有誤",
        "Invalid input",
    ),
    (
        "error.title.internal",
        "出错了",
        "出錯了",
        "Something went wrong",
    ),
    ("error.title.other", "提示", "提示", "Notice"),
    ("import.allowed", "可填：", "可填：", "Allowed:"),
    (
        "import.template",
        "下载模板",
        "下載範本",
        "Download a template",
    ),
    (
        "import.file",
        "文件（CSV 或 Excel .xlsx）",
        "檔案（CSV 或 Excel .xlsx）",
        "File (CSV or Excel .xlsx)",
    ),
    (
        "import.dry_run",
        "只检查，不写入",
        "只檢查，不寫入",
        "Check only, write nothing",
    ),
    (
        "import.columns",
        "文件第一行的列名（按类型）：",
        "檔案第一列的欄位名稱（依類型）：",
        "The columns the file's first row names, by kind:",
    ),
    ("import.rows_read", "读取行数", "讀取列數", "Rows read"),
    ("import.created", "已新建", "已新增", "Created"),
    (
        "import.checked_only",
        "只检查，未写入",
        "只檢查，未寫入",
        "checked only, nothing written",
    ),
    ("import.column", "列", "欄", "Column"),
    (
        "import.would",
        "将会执行",
        "將會執行",
        "What the import would do",
    ),
    ("import.did", "已执行", "已執行", "What the import did"),
    ("import.create", "新建", "新增", "create"),
    ("nav.users", "员工账号", "員工帳號", "Staff"),
    ("user.name", "姓名", "姓名", "Name"),
    ("user.deactivate", "停用", "停用", "Deactivate"),
    ("user.activate", "启用", "啟用", "Activate"),
    ("user.inactive", "已停用", "已停用", "Inactive"),
    ("user.email", "邮箱", "電郵", "Email"),
    ("user.role", "角色", "角色", "Role"),
    ("user.password", "初始密码", "初始密碼", "Initial password"),
    (
        "user.new",
        "新建员工账号",
        "新增員工帳號",
        "New staff account",
    ),
    (
        "user.token_hint",
        "API 令牌在命令行或通过接口创建：",
        "API 權杖在命令列或透過介面建立：",
        "API tokens are made on the command line or through the API:",
    ),
    ("role.admin", "管理员", "管理員", "Administrator"),
    ("role.manager", "服务经理", "服務經理", "Service manager"),
    ("role.agent", "客服", "客服", "Service agent"),
    ("role.technician", "技师", "技師", "Technician"),
    ("role.marketer", "市场", "市場", "Marketer"),
    ("role.analyst", "分析师", "分析師", "Analyst"),
    ("nav.import", "导入", "匯入", "Import"),
    ("nav.api", "API 文档", "API 文件", "API docs"),
    ("nav.logout", "退出", "登出", "Sign out"),
    ("nav.language", "语言", "語言", "Language"),
    ("login.title", "登录", "登入", "Sign in"),
    ("login.email", "邮箱", "電郵", "Email"),
    ("login.password", "密码", "密碼", "Password"),
    ("login.submit", "登录", "登入", "Sign in"),
    (
        "login.failed",
        "邮箱或密码不正确。",
        "電郵或密碼不正確。",
        "Wrong email or password.",
    ),
    (
        "login.throttled",
        "尝试次数过多，请 15 分钟后再试。",
        "嘗試次數過多，請 15 分鐘後再試。",
        "Too many attempts. Try again in 15 minutes.",
    ),
    ("action.search", "搜索", "搜尋", "Search"),
    ("action.save", "保存", "儲存", "Save"),
    ("action.cancel", "取消", "取消", "Cancel"),
    (
        "action.new_customer",
        "新建客户",
        "新增客戶",
        "New customer",
    ),
    ("action.edit", "编辑", "編輯", "Edit"),
    ("action.new_order", "录入订单", "錄入訂單", "Record order"),
    ("action.merge", "合并", "合併", "Merge"),
    ("action.dismiss", "不是同一人", "不是同一人", "Not the same"),
    ("action.next_page", "下一页", "下一頁", "Next page"),
    (
        "action.add_interaction",
        "记录接触",
        "記錄接觸",
        "Log contact",
    ),
    ("action.export_csv", "导出 CSV", "匯出 CSV", "Export CSV"),
    (
        "action.export_xlsx",
        "导出 Excel",
        "匯出 Excel",
        "Export Excel",
    ),
    ("action.vcard", "名片 vCard", "名片 vCard", "vCard"),
    ("action.add_event", "添加记录", "新增記錄", "Add entry"),
    (
        "list.empty",
        "没有记录。",
        "沒有記錄。",
        "Nothing here yet.",
    ),
    (
        "list.search_hint",
        "姓名、拼音、电话、邮箱或序列号",
        "姓名、拼音、電話、電郵或序號",
        "Name, pinyin, phone, email or serial number",
    ),
    ("filter.all", "全部", "全部", "All"),
    ("filter.tag", "标签", "標籤", "Tag"),
    ("filter.city", "城市", "城市", "City"),
    ("filter.sort", "排序", "排序", "Sort"),
    ("sort.name", "姓名（拼音）", "姓名（拼音）", "Name (pinyin)"),
    ("sort.-name", "姓名倒序", "姓名倒序", "Name, descending"),
    ("sort.created", "最早创建", "最早建立", "Oldest first"),
    ("sort.-created", "最新创建", "最新建立", "Newest first"),
    (
        "sort.price",
        "价格从低到高",
        "價格從低到高",
        "Price, lowest first",
    ),
    (
        "sort.-price",
        "价格从高到低",
        "價格從高到低",
        "Price, highest first",
    ),
    ("sort.ordered", "最早下单", "最早下單", "Oldest order first"),
    (
        "sort.-ordered",
        "最新下单",
        "最新下單",
        "Newest order first",
    ),
    (
        "sort.total",
        "金额从低到高",
        "金額從低到高",
        "Total, lowest first",
    ),
    (
        "sort.-total",
        "金额从高到低",
        "金額從高到低",
        "Total, highest first",
    ),
    ("rfm.r", "近度 R", "近度 R", "Recency R"),
    ("rfm.f", "频度 F", "頻度 F", "Frequency F"),
    ("rfm.m", "额度 M", "額度 M", "Monetary M"),
    ("rfm.score", "{n} 分", "{n} 分", "score {n}"),
    (
        "rfm.unscored",
        "未评分（无购买）",
        "未評分（無購買）",
        "not scored (no purchase)",
    ),
    ("customer.kind", "类型", "類型", "Type"),
    ("kind.person", "个人", "個人", "Person"),
    ("kind.organisation", "机构", "機構", "Organisation"),
    ("customer.name", "姓名 / 名称", "姓名 / 名稱", "Name"),
    ("customer.company", "公司", "公司", "Company"),
    ("customer.title", "职务", "職稱", "Title"),
    ("customer.birthday", "生日", "生日", "Birthday"),
    ("customer.phones", "电话", "電話", "Phones"),
    ("customer.phone", "电话", "電話", "Phone"),
    ("customer.emails", "邮箱", "電郵", "Emails"),
    ("customer.email", "邮箱", "電郵", "Email"),
    ("customer.label", "备注名", "標註", "Label"),
    ("customer.primary", "首选", "首選", "Primary"),
    ("customer.addresses", "地址", "地址", "Addresses"),
    ("customer.province", "省份", "省份", "Province"),
    ("customer.city", "城市", "城市", "City"),
    ("customer.district", "区县", "區縣", "District"),
    ("customer.street", "街道地址", "街道地址", "Street"),
    ("customer.postcode", "邮编", "郵遞區號", "Postcode"),
    ("customer.family", "家庭成员", "家庭成員", "Family"),
    ("customer.relation", "关系", "關係", "Relation"),
    ("customer.dates", "重要日子", "重要日子", "Important dates"),
    ("customer.date", "日期", "日期", "Date"),
    (
        "customer.consent",
        "联系许可",
        "聯絡許可",
        "Contact consent",
    ),
    (
        "customer.account_manager",
        "客户经理",
        "客戶經理",
        "Account manager",
    ),
    (
        "customer.tags",
        "标签（逗号分隔）",
        "標籤（逗號分隔）",
        "Tags (comma separated)",
    ),
    ("customer.habits", "习惯", "習慣", "Habits"),
    ("customer.preferences", "偏好", "偏好", "Preferences"),
    ("customer.notes", "备注", "備註", "Notes"),
    ("customer.source", "来源触点", "來源觸點", "Came from"),
    (
        "customer.known",
        "这个电话或邮箱已经属于下面的客户。是同一个人就请打开那条记录；确实是另一个人，勾选「仍然新建」再保存。",
        "這個電話或郵箱已經屬於下面的客戶。是同一個人就請打開那筆紀錄；確實是另一個人，勾選「仍然新建」再儲存。",
        "This phone number or email already belongs to the customer(s) below. If it is the same person, open that record; if it really is someone else, tick \"Create anyway\" and save again.",
    ),
    (
        "customer.create_anyway",
        "仍然新建",
        "仍然新建",
        "Create anyway",
    ),
    (
        "customer.external_ref",
        "原系统编号",
        "原系統編號",
        "Number in the previous system",
    ),
    ("customer.none", "（无）", "（無）", "(none)"),
    (
        "customer.products",
        "在用产品",
        "在用產品",
        "Products in use",
    ),
    ("customer.orders", "订单", "訂單", "Orders"),
    ("customer.timeline", "时间线", "時間線", "Timeline"),
    ("customer.profile", "资料", "資料", "Profile"),
    (
        "customer.merged",
        "此客户已合并到",
        "此客戶已合併到",
        "This customer was merged into",
    ),
    ("consent.phone", "电话", "電話", "Phone"),
    ("consent.sms", "短信", "簡訊", "SMS"),
    ("consent.email", "邮件", "電郵", "Email"),
    ("consent.wechat", "微信", "微信", "WeChat"),
    ("consent.post", "邮寄", "郵寄", "Post"),
    ("tp.point_of_sale", "销售点", "銷售點", "Point of sale"),
    ("tp.direct_sales", "直销", "直銷", "Direct sales"),
    ("tp.media", "媒体", "媒體", "Media"),
    ("tp.word_of_mouth", "口碑", "口碑", "Word of mouth"),
    ("tp.sponsorship", "赞助", "贊助", "Sponsorship"),
    ("tp.phone", "电话", "電話", "Phone"),
    ("tp.email", "邮件", "電郵", "Email"),
    ("tp.web", "网站", "網站", "Web"),
    ("tp.chat", "在线聊天", "線上聊天", "Chat"),
    ("tp.store_visit", "到店", "到店", "Store visit"),
    ("tp.field_visit", "上门", "上門", "Field visit"),
    ("tl.created", "建档", "建檔", "Profile created"),
    ("tl.change", "资料变更", "資料變更", "Profile changed"),
    ("tl.order", "订单", "訂單", "Order"),
    ("tl.interaction", "接触", "接觸", "Contact"),
    ("tl.asset", "产品档案", "產品檔案", "Product record"),
    ("tl.merge", "合并客户", "合併客戶", "Merged customer"),
    ("interaction.subject", "主题", "主題", "Subject"),
    ("interaction.body", "内容", "內容", "Details"),
    ("interaction.touchpoint", "触点", "觸點", "Touchpoint"),
    ("product.sku", "型号编码", "型號編碼", "SKU"),
    ("product.name", "产品名称", "產品名稱", "Product"),
    ("product.category", "类别", "類別", "Category"),
    ("product.price", "价格", "價格", "Price"),
    ("product.policy", "三包政策", "三包政策", "Warranty policy"),
    (
        "product.strategy",
        "售后策略",
        "售後策略",
        "After-sales strategy",
    ),
    (
        "product.serialized",
        "序列号管理",
        "序號管理",
        "Serial-numbered",
    ),
    (
        "policy.summary_no_limit",
        "退货 {r} 天 · 换货 {e} 天 · 保修 {m} 个月 · 维修不限次数",
        "退貨 {r} 天 · 換貨 {e} 天 · 保修 {m} 個月 · 維修不限次數",
        "Return {r} days · exchange {e} days · repair {m} months · no repair limit",
    ),
    (
        "error.invalid_path",
        "地址中的编号或参数无效。",
        "位址中的編號或參數無效。",
        "A number or value in the address is not valid.",
    ),
    (
        "error.invalid_query",
        "网址中的参数有误或缺少，请从页面上的链接进入。",
        "網址中的參數有誤或缺少，請從頁面上的連結進入。",
        "The address's parameters are wrong or missing; follow a link on the pages instead.",
    ),
    (
        "policy.summary",
        "退货 {r} 天 · 换货 {e} 天 · 保修 {m} 个月 · 维修 {l} 次后换货",
        "退貨 {r} 天 · 換貨 {e} 天 · 保修 {m} 個月 · 維修 {l} 次後換貨",
        "Return {r} days · exchange {e} days · repair {m} months · exchange after {l} repairs",
    ),
    (
        "catalogue.manage",
        "维护产品目录",
        "維護產品目錄",
        "Manage the catalogue",
    ),
    (
        "catalogue.new_product",
        "新建产品",
        "新增產品",
        "New product",
    ),
    (
        "catalogue.new_policy",
        "新建三包政策",
        "新增三包政策",
        "New warranty policy",
    ),
    (
        "catalogue.new_category",
        "新建类别",
        "新增類別",
        "New category",
    ),
    (
        "catalogue.policy_of_category",
        "沿用类别的政策",
        "沿用類別的政策",
        "The category's policy",
    ),
    (
        "catalogue.policy_name",
        "政策名称",
        "政策名稱",
        "Policy name",
    ),
    (
        "catalogue.return_days",
        "退货期（天）",
        "退貨期（天）",
        "Return window (days)",
    ),
    (
        "catalogue.exchange_days",
        "换货期（天）",
        "換貨期（天）",
        "Exchange window (days)",
    ),
    (
        "catalogue.repair_months",
        "保修期（月）",
        "保修期（月）",
        "Repair period (months)",
    ),
    (
        "catalogue.repair_limit",
        "维修几次后换货（0 为不限）",
        "維修幾次後換貨（0 為不限）",
        "Repairs before exchange (0: no limit)",
    ),
    (
        "catalogue.parent",
        "上级类别",
        "上級類別",
        "Parent category",
    ),
    (
        "strategy.comprehensive",
        "全面服务",
        "全面服務",
        "Comprehensive",
    ),
    ("strategy.special", "特别服务", "特別服務", "Special"),
    ("strategy.partial", "部分服务", "部分服務", "Partial"),
    ("order.number", "订单号", "訂單號", "Order"),
    ("order.customer", "客户", "客戶", "Customer"),
    ("order.channel", "渠道", "通路", "Channel"),
    ("order.outlet", "销售网点", "銷售網點", "Outlet"),
    ("order.ordered_on", "下单日期", "下單日期", "Ordered on"),
    ("order.delivered_on", "送达日期", "送達日期", "Delivered on"),
    ("order.installed_on", "安装日期", "安裝日期", "Installed on"),
    ("order.location", "使用地点", "使用地點", "Location"),
    ("order.status", "状态", "狀態", "Status"),
    ("order.total", "金额", "金額", "Total"),
    (
        "order.discount",
        "整单优惠（元）",
        "整單優惠（元）",
        "Order discount (yuan)",
    ),
    (
        "order.payment_terms",
        "付款条件",
        "付款條件",
        "Payment terms",
    ),
    (
        "order.special_needs",
        "特殊需求",
        "特殊需求",
        "Special needs",
    ),
    ("order.product", "产品", "產品", "Product"),
    ("order.quantity", "数量", "數量", "Quantity"),
    (
        "order.unit_price",
        "单价（元，空则按目录价）",
        "單價（元，空則按目錄價）",
        "Unit price (yuan, blank = list price)",
    ),
    (
        "order.serials",
        "序列号（每件一个，逗号分隔）",
        "序號（每件一個，逗號分隔）",
        "Serial numbers (one per unit, comma separated)",
    ),
    ("order.items", "明细", "明細", "Items"),
    ("channel.store", "门店", "門市", "Store"),
    ("channel.ecommerce", "电商", "電商", "E-commerce"),
    ("channel.agent", "代理商", "代理商", "Agent"),
    ("channel.direct", "直销", "直銷", "Direct"),
    ("status.placed", "已下单", "已下單", "Placed"),
    ("status.paid", "已付款", "已付款", "Paid"),
    ("status.delivered", "已送达", "已送達", "Delivered"),
    ("status.completed", "已完成", "已完成", "Completed"),
    ("status.cancelled", "已取消", "已取消", "Cancelled"),
    ("asset.serial", "序列号", "序號", "Serial"),
    ("asset.purchased_on", "购买日期", "購買日期", "Purchased"),
    ("asset.warranty", "保修状态", "保固狀態", "Warranty"),
    ("asset.history", "使用档案", "使用檔案", "Usage archive"),
    ("asset.event_kind", "类型", "類型", "Kind"),
    (
        "asset.void_condition",
        "失效原因",
        "失效原因",
        "Voiding condition",
    ),
    ("asset.note", "说明", "說明", "Note"),
    ("event.installed", "安装", "安裝", "Installed"),
    ("event.service", "保养", "保養", "Service"),
    ("event.repair", "维修", "維修", "Repair"),
    ("event.note", "备注", "備註", "Note"),
    (
        "event.void",
        "发现失效情形",
        "發現失效情形",
        "Voiding finding",
    ),
    ("void.misuse", "人为损坏", "人為損壞", "Misuse"),
    (
        "void.unauthorized_repair",
        "擅自拆修",
        "擅自拆修",
        "Unauthorised repair",
    ),
    (
        "void.no_proof_of_purchase",
        "无购买凭证",
        "無購買憑證",
        "No proof of purchase",
    ),
    (
        "void.serial_tampered",
        "序列号涂改",
        "序號塗改",
        "Serial tampered",
    ),
    (
        "void.force_majeure",
        "不可抗力",
        "不可抗力",
        "Force majeure",
    ),
    (
        "void.commercial_use",
        "商业用途",
        "商業用途",
        "Commercial use",
    ),
    ("coverage.in_warranty", "在保", "保固中", "In warranty"),
    ("coverage.expired", "已过保", "已過保", "Expired"),
    ("coverage.void", "保修失效", "保固失效", "Void"),
    ("coverage.none", "无三包政策", "無三包政策", "No policy"),
    ("remedy.return", "退货", "退貨", "Return"),
    ("remedy.exchange", "换货", "換貨", "Exchange"),
    ("remedy.repair", "保修", "保修", "Repair"),
    (
        "reason.within_window",
        "有效至 {until}",
        "有效至 {until}",
        "until {until}",
    ),
    (
        "reason.window_ended",
        "已于 {until} 截止",
        "已於 {until} 截止",
        "ended {until}",
    ),
    ("reason.not_offered", "不提供", "不提供", "not offered"),
    (
        "reason.voided",
        "已失效（{cond}）",
        "已失效（{cond}）",
        "void ({cond})",
    ),
    (
        "reason.repair_limit_reached",
        "维修次数已满，可换货至 {until}",
        "維修次數已滿，可換貨至 {until}",
        "repair limit reached: exchange until {until}",
    ),
    (
        "reason.not_yet_received",
        "尚未签收",
        "尚未簽收",
        "not yet received",
    ),
    ("dup.reason.phone", "同一电话", "同一電話", "Same phone"),
    ("dup.reason.email", "同一邮箱", "同一電郵", "Same email"),
    ("dup.keep", "保留", "保留", "Keep"),
    (
        "dup.intro",
        "以下客户共用电话或邮箱，可能是同一人从不同渠道进入。合并后两边的记录和时间线全部保留。",
        "以下客戶共用電話或電郵，可能是同一人從不同通路進入。合併後兩邊的記錄和時間線全部保留。",
        "These customers share a phone or email and may be the same person arriving through different channels. Merging keeps every record and timeline entry of both.",
    ),
    ("audit.at", "时间", "時間", "When"),
    ("audit.actor", "操作人", "操作人", "Who"),
    ("audit.action", "操作", "操作", "Action"),
    ("audit.entity", "对象", "對象", "Record"),
    (
        "audit.change",
        "变更前 → 变更后",
        "變更前 → 變更後",
        "Before → after",
    ),
    ("saved", "已保存。", "已儲存。", "Saved."),
    (
        "form.has_errors",
        "请更正标出的字段。",
        "請更正標出的欄位。",
        "Please correct the marked fields.",
    ),
    ("error.required", "必填。", "必填。", "is required."),
    ("error.too_long", "太长。", "太長。", "is too long."),
    (
        "error.control_character",
        "含有不可见的控制字符（如 NUL），请删除后再提交。",
        "含有不可見的控制字元（如 NUL），請刪除後再提交。",
        "contains an invisible control character (such as NUL); remove it and try again.",
    ),
    (
        "error.phone_invalid",
        "不是有效的电话号码，手机号应为 11 位，如 138 0013 8000。",
        "不是有效的電話號碼，大陸手機號應為 11 位，如 138 0013 8000。",
        "is not a valid phone number; a mainland mobile has 11 digits, like 138 0013 8000.",
    ),
    (
        "error.email_invalid",
        "不是有效的邮箱地址。",
        "不是有效的電郵地址。",
        "is not a valid email address.",
    ),
    (
        "error.date_invalid",
        "日期格式应为 2026-11-25。",
        "日期格式應為 2026-11-25。",
        "must be a date like 2026-11-25.",
    ),
    (
        "error.duplicate",
        "重复了。",
        "重複了。",
        "is listed twice.",
    ),
    (
        "error.postcode_invalid",
        "邮编应为 6 位数字。",
        "郵遞區號應為 6 位數字。",
        "must be 6 digits.",
    ),
    (
        "error.tag_invalid",
        "标签最多 32 字且不能含逗号。",
        "標籤最多 32 字且不能含逗號。",
        "must be at most 32 characters without commas.",
    ),
    (
        "error.too_many",
        "太多了。",
        "太多了。",
        "has too many entries.",
    ),
    (
        "error.kind_unknown",
        "未知类型。",
        "未知類型。",
        "is not a known kind.",
    ),
    (
        "error.touchpoint_unknown",
        "未知触点。",
        "未知觸點。",
        "is not a known touchpoint.",
    ),
    (
        "error.consent_channel_unknown",
        "未知渠道。",
        "未知通路。",
        "is not a known channel.",
    ),
    (
        "error.channel_unknown",
        "渠道应为 store、ecommerce、agent 或 direct。",
        "通路應為 store、ecommerce、agent 或 direct。",
        "must be store, ecommerce, agent or direct.",
    ),
    (
        "error.status_unknown",
        "未知状态。",
        "未知狀態。",
        "is not a known status.",
    ),
    (
        "error.role_unknown",
        "角色应为 admin、manager、agent、technician、marketer、analyst 或 product_manager。",
        "角色應為 admin、manager、agent、technician、marketer、analyst 或 product_manager。",
        "must be admin, manager, agent, technician, marketer, analyst or product_manager.",
    ),
    (
        "error.scope_unknown",
        "范围应为 read、write 或 admin。",
        "範圍應為 read、write 或 admin。",
        "must be read, write or admin.",
    ),
    (
        "error.amount_invalid",
        "金额格式不对，如 3999.00。",
        "金額格式不對，如 3999.00。",
        "must be an amount like 3999.00.",
    ),
    (
        "error.currency_invalid",
        "币种应为三个字母，如 CNY。",
        "幣別應為三個字母，如 CNY。",
        "must be a three-letter code like CNY.",
    ),
    (
        "error.sku_invalid",
        "只能含字母、数字和 - _ .",
        "只能含字母、數字和 - _ .",
        "may only contain letters, digits and - _ .",
    ),
    (
        "error.serial_invalid",
        "序列号为 4–64 位字母、数字或 -。",
        "序號為 4–64 位字母、數字或 -。",
        "must be 4–64 letters, digits or -.",
    ),
    (
        "error.serial_taken",
        "该序列号已登记。",
        "該序號已登記。",
        "is already registered.",
    ),
    (
        "error.serial_count_mismatch",
        "序列号个数须与数量一致。",
        "序號個數須與數量一致。",
        "must list one serial number per unit.",
    ),
    (
        "error.not_serialized",
        "该产品不管理序列号。",
        "該產品不管理序號。",
        "is not a serial-numbered product.",
    ),
    (
        "error.sku_taken",
        "该编码已存在。",
        "該編碼已存在。",
        "is already used by another product.",
    ),
    (
        "error.email_taken",
        "该邮箱已注册。",
        "該電郵已註冊。",
        "is already registered.",
    ),
    ("error.not_found", "找不到。", "找不到。", "was not found."),
    (
        "error.out_of_range",
        "超出范围。",
        "超出範圍。",
        "is out of range.",
    ),
    (
        "error.before_order_date",
        "不能早于下单日期。",
        "不能早於下單日期。",
        "cannot be before the order date.",
    ),
    (
        "error.exchange_shorter_than_return",
        "换货期不能短于退货期。",
        "換貨期不能短於退貨期。",
        "cannot be shorter than the return window.",
    ),
    (
        "error.void_condition_unknown",
        "未知失效情形。",
        "未知失效情形。",
        "is not a known voiding condition.",
    ),
    (
        "error.strategy_unknown",
        "应为 comprehensive、special 或 partial。",
        "應為 comprehensive、special 或 partial。",
        "must be comprehensive, special or partial.",
    ),
    (
        "error.direction_unknown",
        "应为 inbound 或 outbound。",
        "應為 inbound 或 outbound。",
        "must be inbound or outbound.",
    ),
    (
        "error.same_customer",
        "不能与自己合并。",
        "不能與自己合併。",
        "cannot be merged with itself.",
    ),
    (
        "error.password_too_short",
        "密码至少 8 位。",
        "密碼至少 8 位。",
        "must have at least 8 characters.",
    ),
    (
        "error.stale_version",
        "记录已被他人修改，请刷新后重试。",
        "記錄已被他人修改，請重新整理後重試。",
        "was changed by someone else; reload and try again.",
    ),
    (
        "error.cursor_invalid",
        "分页游标无效。",
        "分頁游標無效。",
        "is not a valid page cursor.",
    ),
    (
        "error.sort_unknown",
        "不支持的排序。",
        "不支援的排序。",
        "is not a supported sort.",
    ),
    (
        "error.customer_merged",
        "该客户已被合并。",
        "該客戶已被合併。",
        "was merged into another customer.",
    ),
    (
        "error.already_exists",
        "已存在。",
        "已存在。",
        "already exists.",
    ),
    (
        "error.calendar_without_hours",
        "一周中至少要有一个工作时段，否则服务时限永远不会计时。",
        "一週中至少要有一個工作時段，否則服務時限永遠不會計時。",
        "needs at least one working shift in the week, or no service target would ever run.",
    ),
    (
        "error.file_unterminated_quote",
        "第 {n} 行有未闭合的引号，请检查该行的引号是否成对。",
        "第 {n} 列有未閉合的引號，請檢查該列的引號是否成對。",
        "row {n} opens a quote that is never closed; check that its quotes come in pairs.",
    ),
    (
        "error.date_out_of_range",
        "日期超出范围（1990 年起，最晚到明年年底；统计期间最晚到 2100 年）。",
        "日期超出範圍（1990 年起，最晚到明年年底；統計期間最晚到 2100 年）。",
        "is out of range (from 1990 to the end of next year; periods up to 2100).",
    ),
    (
        "error.discount_exceeds_amount",
        "折扣不能大于金额。",
        "折扣不能大於金額。",
        "is larger than the amount it discounts.",
    ),
    (
        "error.outlet_not_yours",
        "只能为本网点开立服务请求。",
        "只能為本網點開立服務請求。",
        "is another outlet's; you can open requests for your own outlet only.",
    ),
    (
        "error.reference_not_found",
        "引用的记录不存在。",
        "引用的記錄不存在。",
        "refers to a record that does not exist.",
    ),
    (
        "error.invalid_input",
        "输入有误。",
        "輸入有誤。",
        "The input is not valid.",
    ),
    (
        "error.malformed_json",
        "请求体不是有效的 JSON。",
        "請求內容不是有效的 JSON。",
        "The body is not valid JSON.",
    ),
    (
        "error.invalid_body",
        "请求体字段不符合要求：",
        "請求內容欄位不符合要求：",
        "The body does not match the expected fields: ",
    ),
    (
        "error.payload_too_large",
        "请求体太大。",
        "請求內容太大。",
        "The body is too large.",
    ),
    (
        "error.unsupported_media_type",
        "请求体须为 JSON（Content-Type: application/json）。",
        "請求內容須為 JSON（Content-Type: application/json）。",
        "The body must be JSON (Content-Type: application/json).",
    ),
    (
        "error.unauthenticated",
        "请先登录或提供有效的 API 令牌。",
        "請先登入或提供有效的 API 權杖。",
        "Sign in or send a valid API token.",
    ),
    (
        "error.forbidden",
        "没有权限执行此操作。",
        "沒有權限執行此操作。",
        "You are not allowed to do this.",
    ),
    (
        "error.throttled",
        "尝试次数过多，请稍后再试。",
        "嘗試次數過多，請稍後再試。",
        "Too many attempts; try again later.",
    ),
    (
        "error.csrf",
        "表单已过期，请刷新页面后重试。",
        "表單已過期，請重新整理頁面後重試。",
        "The form expired; reload the page and try again.",
    ),
    (
        "error.internal",
        "服务器内部错误，已记录。",
        "伺服器內部錯誤，已記錄。",
        "Something went wrong on our side; it has been logged.",
    ),
    (
        "error.idempotency_key_reused",
        "该幂等键已用于另一个请求。",
        "該冪等鍵已用於另一個請求。",
        "This Idempotency-Key was used for a different request.",
    ),
    (
        "error.idempotency_key_in_progress",
        "使用该幂等键的请求仍在处理中，请稍后重试。",
        "使用該冪等鍵的請求仍在處理中，請稍後重試。",
        "A request with this Idempotency-Key is still running; retry shortly.",
    ),
    (
        "error.conflict",
        "与现有数据冲突。",
        "與現有資料衝突。",
        "Conflicts with existing data.",
    ),
    (
        "error.import_invalid",
        "导入文件有误，未写入任何数据。",
        "匯入檔案有誤，未寫入任何資料。",
        "The file has errors; nothing was imported.",
    ),
    (
        "error.customer_erased",
        "该客户的个人信息已删除，记录不能再修改。",
        "該客戶的個人資料已刪除，記錄不能再修改。",
        "had their personal information erased; the record can no longer change.",
    ),
    (
        "privacy.title",
        "个人信息（个保法）",
        "個人資料（個資法）",
        "Personal information (PIPL)",
    ),
    (
        "privacy.help",
        "应客户本人要求，导出其全部个人信息，或删除其个人信息。两者都记入审计日志。",
        "應客戶本人要求，匯出其全部個人資料，或刪除其個人資料。兩者都記入稽核日誌。",
        "At the customer's own request, export everything held about them, or erase their personal information. Both are recorded in the audit log.",
    ),
    (
        "privacy.export",
        "导出个人信息（JSON）",
        "匯出個人資料（JSON）",
        "Export personal information (JSON)",
    ),
    (
        "privacy.erase",
        "删除个人信息",
        "刪除個人資料",
        "Erase personal information",
    ),
    ("privacy.erase_now", "确认删除", "確認刪除", "Erase now"),
    (
        "privacy.erased_on",
        "此客户的个人信息已应其要求删除，记录不含身份信息，仅供统计。删除时间：",
        "此客戶的個人資料已應其要求刪除，記錄不含身分資料，僅供統計。刪除時間：",
        "This customer's personal information was erased at their request; the record is kept without identity, for statistics. Erased:",
    ),
    (
        "privacy.irreversible",
        "删除后无法恢复。请先导出个人信息，如客户也要求获得副本。",
        "刪除後無法復原。如客戶也要求取得副本，請先匯出個人資料。",
        "This cannot be undone. If the customer also asked for a copy, export it first.",
    ),
    ("privacy.removed", "将删除", "將刪除", "Removed"),
    (
        "privacy.kept",
        "保留（不含身份信息）",
        "保留（不含身分資料）",
        "Kept, without identity",
    ),
    (
        "privacy.removed.profile",
        "姓名、公司、职务、生日、习惯、偏好、备注、标签、同意记录、旧系统编号",
        "姓名、公司、職稱、生日、習慣、偏好、備註、標籤、同意紀錄、舊系統編號",
        "Name, company, title, birthday, habits, preferences, notes, tags, consent, old system number",
    ),
    (
        "privacy.removed.contacts",
        "电话、邮箱、地址、家庭成员、重要日期",
        "電話、電子郵件、地址、家庭成員、重要日期",
        "Phones, emails, addresses, family members, important dates",
    ),
    (
        "privacy.removed.text",
        "联系记录、服务请求、消息、上门地址、退换理由、反馈和问卷中的文字",
        "聯絡紀錄、服務請求、訊息、到府地址、退換理由、回饋和問卷中的文字",
        "The text of contacts, service requests, messages, visit addresses, return reasons, feedback and surveys",
    ),
    (
        "privacy.removed.files",
        "附件、发给该客户的邮件",
        "附件、寄給該客戶的郵件",
        "Attachments, mail sent or queued to the customer",
    ),
    (
        "privacy.removed.portal",
        "客户门户账户及其登录",
        "客戶入口網站帳戶及其登入",
        "The portal account and its sign-ins",
    ),
    (
        "privacy.removed.logs",
        "审计日志和变更日志中关于该客户的内容（只留编号），搜索索引中的文字",
        "稽核日誌和變更日誌中關於該客戶的內容（只留編號），搜尋索引中的文字",
        "What the audit and change logs hold about them (ids only are kept), the text in the search index",
    ),
    (
        "privacy.kept.orders",
        "订单、金额、日期、产品和序列号",
        "訂單、金額、日期、產品和序號",
        "Orders, amounts, dates, products and serial numbers",
    ),
    (
        "privacy.kept.requests",
        "服务请求的类型、状态、时效、费用、评分",
        "服務請求的類型、狀態、時效、費用、評分",
        "Service requests' type, status, SLA, costs and ratings",
    ),
    (
        "privacy.kept.scores",
        "客户价值、忠诚阶段、反馈的分类结果",
        "客戶價值、忠誠階段、回饋的分類結果",
        "Customer value, loyalty stage, feedback classifications",
    ),
    (
        "privacy.kept.audit",
        "审计日志中谁在何时做了什么（包括本次删除）",
        "稽核日誌中誰在何時做了什麼（包括本次刪除）",
        "Who did what and when, in the audit log (this erasure included)",
    ),
    (
        "privacy.note",
        "客户如何提出要求、由谁核实（记入审计日志）",
        "客戶如何提出要求、由誰核實（記入稽核日誌）",
        "How the customer asked and who checked their identity (kept in the audit log)",
    ),
    (
        "privacy.note_hint",
        "例如：客户本人来电申请，已核实身份",
        "例如：客戶本人來電申請，已核實身分",
        "For example: the customer called in person; identity checked",
    ),
    (
        "privacy.confirm",
        "我确认客户本人要求删除，且此操作无法恢复",
        "我確認客戶本人要求刪除，且此操作無法復原",
        "I confirm the customer asked for this, and that it cannot be undone",
    ),
    (
        "privacy.confirm_required",
        "请勾选确认后再删除。",
        "請勾選確認後再刪除。",
        "Tick the confirmation to erase.",
    ),
    ("field.confirm", "确认", "確認", "Confirmation"),
    (
        "error.reset_link_invalid",
        "此重设密码链接无效、已使用或已过期（有效期 60 分钟）。请重新申请。",
        "此重設密碼連結無效、已使用或已過期（有效期 60 分鐘）。請重新申請。",
        "This reset link is not valid, was used already or has expired (it works for 60 minutes). Ask for a new one.",
    ),
    (
        "error.passwords_differ",
        "两次输入的密码不一致。",
        "兩次輸入的密碼不一致。",
        "the two passwords differ.",
    ),
    (
        "field.password_again",
        "再次输入密码",
        "再次輸入密碼",
        "Password again",
    ),
    (
        "portal.forgot",
        "忘记密码？",
        "忘記密碼？",
        "Forgot your password?",
    ),
    (
        "portal.forgot_title",
        "重设密码",
        "重設密碼",
        "Reset your password",
    ),
    (
        "portal.forgot_help",
        "输入注册时用的邮箱，我们会发送一个重设密码的链接（60 分钟内有效）。",
        "輸入註冊時用的電子郵件，我們會寄出一個重設密碼的連結（60 分鐘內有效）。",
        "Enter the email you signed up with and we will send a link to set a new password (it works for 60 minutes).",
    ),
    (
        "portal.send_reset",
        "发送重设链接",
        "寄出重設連結",
        "Send the link",
    ),
    (
        "portal.reset_sent",
        "如果这个邮箱有售后服务账户，重设密码的链接已发送到该邮箱，60 分钟内有效。没有收到？请检查垃圾邮件。",
        "如果這個電子郵件有售後服務帳戶，重設密碼的連結已寄到該信箱，60 分鐘內有效。沒有收到？請檢查垃圾郵件。",
        "If this address has a service account, a link to set a new password is on its way; it works for 60 minutes. Nothing came? Look in your spam folder.",
    ),
    (
        "portal.reset_title",
        "设置新密码",
        "設定新密碼",
        "Set a new password",
    ),
    ("portal.new_password", "新密码", "新密碼", "New password"),
    (
        "portal.set_password",
        "设置密码并登录",
        "設定密碼並登入",
        "Set the password and sign in",
    ),
    (
        "error.signup_link_invalid",
        "此注册链接无效、已使用或已过期。请重新注册，或直接登录。",
        "此註冊連結無效、已使用或已過期。請重新註冊，或直接登入。",
        "This sign-up link is not valid, was used already or has expired. Sign up again, or sign in.",
    ),
    (
        "portal.signup_sent",
        "我们已发送一封邮件到",
        "我們已寄出一封郵件到",
        "We have sent a mail to",
    ),
    (
        "portal.signup_sent_help",
        "请打开邮件中的链接完成注册（24 小时内有效）。没有收到？请检查垃圾邮件，或稍后重新注册。",
        "請開啟郵件中的連結完成註冊（24 小時內有效）。沒有收到？請檢查垃圾郵件，或稍後重新註冊。",
        "Open the link in it to finish signing up (it works for 24 hours). Nothing came? Look in your spam folder, or sign up again later.",
    ),
    (
        "portal.confirm_title",
        "确认注册",
        "確認註冊",
        "Confirm your sign-up",
    ),
    (
        "portal.confirm_help",
        "邮箱已验证。点击下面的按钮完成注册并登录。",
        "電子郵件已驗證。點擊下面的按鈕完成註冊並登入。",
        "Your email is confirmed. Press the button to finish signing up and sign in.",
    ),
    (
        "portal.confirm_button",
        "完成注册并登录",
        "完成註冊並登入",
        "Finish and sign in",
    ),
    ("field.token", "链接", "連結", "Link"),
    ("setup.policy_standard", "标准", "標準", "Standard"),
    (
        "setup.policy_high_value",
        "高价值客户",
        "高價值客戶",
        "High-value customers",
    ),
    ("setup.policy_urgent", "紧急", "緊急", "Urgent"),
    ("setup.policy_complaints", "投诉", "投訴", "Complaints"),
    (
        "setup.calendar_office",
        "办公时间（上海）",
        "辦公時間（上海）",
        "Office hours (Shanghai)",
    ),
    (
        "error.no_such_page",
        "没有这个页面：地址中的编号无效。",
        "沒有這個頁面：位址中的編號無效。",
        "No such page: the number in the address is not valid.",
    ),
    (
        "error.not_found_thing",
        "找不到该{thing}。",
        "找不到該{thing}。",
        "No such {thing}.",
    ),
    (
        "error.not_found_any",
        "找不到所要的记录。",
        "找不到所要的紀錄。",
        "The record was not found.",
    ),
    ("thing.customer", "客户", "客戶", "customer"),
    ("thing.request", "服务请求", "服務請求", "service request"),
    ("thing.survey", "问卷", "問卷", "survey"),
    ("thing.feedback", "反馈", "回饋", "feedback item"),
    ("thing.visit", "上门服务", "到府服務", "visit"),
    ("thing.user", "员工账户", "員工帳戶", "staff account"),
    ("thing.product", "产品", "產品", "product"),
    ("thing.attachment", "附件", "附件", "attachment"),
    ("thing.asset", "客户的产品", "客戶的產品", "product item"),
    ("thing.technician", "技师", "技師", "technician"),
    ("thing.rma", "退换货", "退換貨", "return or exchange"),
    ("thing.job", "计算任务", "計算任務", "job"),
    ("thing.improvement", "改进项", "改善項目", "backlog entry"),
    ("thing.order", "订单", "訂單", "order"),
    ("thing.article", "帮助文章", "說明文章", "help article"),
    ("thing.token", "API 令牌", "API 權杖", "API token"),
    ("thing.segment", "客户分群", "客戶分群", "segment"),
    ("thing.category", "产品类别", "產品類別", "category"),
    ("thing.calendar", "工作日历", "工作日曆", "calendar"),
    (
        "thing.referred_id",
        "被推荐的客户",
        "被推薦的客戶",
        "referred customer",
    ),
    ("thing.cursor", "分页位置", "分頁位置", "page position"),
    ("thing.record", "记录", "紀錄", "record"),
    (
        "reason.exchanged_out",
        "已于 {on} 换货换出，三包随之结束",
        "已於 {on} 換貨換出，三包隨之結束",
        "exchanged out on {on}: no guarantee left",
    ),
    (
        "reason.returned",
        "已于 {on} 退货，三包随之结束",
        "已於 {on} 退貨，三包隨之結束",
        "returned on {on}: no guarantee left",
    ),
    (
        "event.exchanged_out",
        "换货换出",
        "換貨換出",
        "Exchanged out",
    ),
    (
        "event.replaces",
        "换货换入",
        "換貨換入",
        "Replaces an exchanged item",
    ),
    ("event.returned", "退货退回", "退貨退回", "Returned"),
    (
        "error.item_exchanged",
        "该产品已换货换出，不能再退货、换货或退款。",
        "該產品已換貨換出，不能再退貨、換貨或退款。",
        "was exchanged already: it cannot be returned, exchanged or refunded again.",
    ),
    (
        "error.item_returned",
        "该产品已退货，不能再退货、换货或退款。",
        "該產品已退貨，不能再退貨、換貨或退款。",
        "was returned already: it cannot be returned, exchanged or refunded again.",
    ),
];

static INDEX: LazyLock<HashMap<&'static str, [&'static str; 3]>> = LazyLock::new(|| {
    MESSAGES
        .iter()
        .chain(crate::i18n_desk::DESK_MESSAGES)
        .chain(crate::i18n_value::VALUE_MESSAGES)
        .chain(crate::i18n_voc::VOC_MESSAGES)
        .chain(crate::i18n_campaign::CAMPAIGN_MESSAGES)
        .chain(crate::i18n_care::CARE_MESSAGES)
        .chain(crate::i18n_journey::JOURNEY_MESSAGES)
        .chain(crate::i18n_network::NETWORK_MESSAGES)
        .map(|(k, s, t, e)| (*k, [*s, *t, *e]))
        .collect()
});

/// Looks up a message; an unknown key shows itself, so a gap is visible, not blank.
pub fn t(lang: Lang, key: &str) -> String {
    match INDEX.get(key) {
        Some(m) => m[match lang {
            Lang::ZhHans => 0,
            Lang::ZhHant => 1,
            Lang::En => 2,
        }]
        .to_string(),
        None => key.to_string(),
    }
}

/// The message for an error code on a field, e.g. "电话 不是有效的电话号码…".
pub fn field_message(lang: Lang, code: &str) -> String {
    t(lang, &format!("error.{code}"))
}

/// The translator handed to templates.
#[derive(Clone, Copy)]
pub struct Tr(pub Lang);

impl Tr {
    pub fn t(&self, key: &str) -> String {
        t(self.0, key)
    }
    /// A key built from a prefix and a code: `tr.k("channel", "store")`.
    /// The translation of a code (`rstatus.resolved`): stored codes and the domain's
    /// coded values alike.
    pub fn k(&self, prefix: &str, code: impl AsRef<str>) -> String {
        t(self.0, &format!("{prefix}.{}", code.as_ref()))
    }
    pub fn code(&self) -> &'static str {
        self.0.code()
    }
    /// A name the installation was set up with (the first SLA policies and calendar), in
    /// the reader's language; a name someone gave is data and shows as written.
    pub fn setup_name(&self, name: &str) -> String {
        let key = match name {
            "Standard" => "setup.policy_standard",
            "High-value customers" => "setup.policy_high_value",
            "Urgent" => "setup.policy_urgent",
            "Complaints" => "setup.policy_complaints",
            "Office hours (Shanghai)" => "setup.calendar_office",
            _ => return name.to_string(),
        };
        self.t(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_every_translation_is_filled() {
        let mut seen = std::collections::HashSet::new();
        for (k, s, t, e) in MESSAGES
            .iter()
            .chain(crate::i18n_desk::DESK_MESSAGES)
            .chain(crate::i18n_value::VALUE_MESSAGES)
            .chain(crate::i18n_voc::VOC_MESSAGES)
            .chain(crate::i18n_campaign::CAMPAIGN_MESSAGES)
            .chain(crate::i18n_care::CARE_MESSAGES)
            .chain(crate::i18n_journey::JOURNEY_MESSAGES)
            .chain(crate::i18n_network::NETWORK_MESSAGES)
        {
            assert!(seen.insert(*k), "duplicate key {k}");
            assert!(!s.is_empty() && !t.is_empty() && !e.is_empty(), "{k}");
        }
    }

    #[test]
    fn every_key_the_pages_ask_for_has_a_translation() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        // Every file under templates/ and src/, in subfolders too (src/kit, api, pages).
        let mut files: Vec<std::path::PathBuf> = Vec::new();
        let mut dirs = vec![dir.join("templates"), dir.join("src")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        assert!(files.len() > 40, "{} files", files.len());
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (i, _) in text.match_indices(".t(\"") {
                let rest = &text[i + 4..];
                let key = &rest[..rest.find('"').unwrap()];
                if key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_' || c == '-')
                {
                    assert!(INDEX.contains_key(key), "{} asks for {key}", f.display());
                }
            }
        }
    }

    #[test]
    fn every_domain_error_code_has_a_message() {
        for code in [
            "required",
            "too_long",
            "control_character",
            "outlet_not_yours",
            "date_out_of_range",
            "date_in_future",
            "from_after_to",
            "ref_taken",
            "currency_unsupported",
            "discount_exceeds_amount",
            "calendar_without_hours",
            "phone_invalid",
            "email_invalid",
            "date_invalid",
            "duplicate",
            "serial_taken",
            "serial_count_mismatch",
            "sku_taken",
            "stale_version",
            "cursor_invalid",
        ] {
            assert_ne!(
                field_message(Lang::En, code),
                format!("error.{code}"),
                "{code}"
            );
        }
    }
}
