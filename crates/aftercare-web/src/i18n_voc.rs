//! The voice of the customer's words in 简体中文, 繁體中文 and English (see `i18n.rs`).

/// (key, zh-Hans, zh-Hant, en)
pub(crate) const VOC_MESSAGES: &[(&str, &str, &str, &str)] = &[
    (
        "role.product_manager",
        "产品经理",
        "產品經理",
        "Product manager",
    ),
    (
        "error.sentiment_unknown",
        "应为 positive、neutral 或 negative。",
        "應為 positive、neutral 或 negative。",
        "must be positive, neutral or negative.",
    ),
    (
        "error.ladder_unknown",
        "应为 function、quality、image、personality 或 spirit。",
        "應為 function、quality、image、personality 或 spirit。",
        "must be function, quality, image, personality or spirit.",
    ),
    (
        "error.need_unknown",
        "应为 current、latent 或 inducible。",
        "應為 current、latent 或 inducible。",
        "must be current, latent or inducible.",
    ),
    (
        "error.source_unknown",
        "不是已知的反馈来源（survey、complaint、consultation、request、request_reply、call、visit、review、other）。",
        "不是已知的回饋來源（survey、complaint、consultation、request、request_reply、call、visit、review、other）。",
        "is not a known source (survey, complaint, consultation, request, request_reply, call, visit, review, other).",
    ),
    (
        "error.rating_range",
        "评分应在 1 到 5 之间。",
        "評分應在 1 到 5 之間。",
        "must be from 1 to 5.",
    ),
    (
        "error.id_invalid",
        "不是有效的编号。",
        "不是有效的編號。",
        "is not a valid id.",
    ),
    (
        "error.labels_required",
        "请至少改正一个标签（情感、阶梯层级或需求类型）。",
        "請至少更正一個標籤（情感、階梯層級或需求類型）。",
        "needs at least one label to correct (sentiment, ladder level or need type).",
    ),
    (
        "error.word_kind_unknown",
        "应为 part（零部件）或 product（产品）。",
        "應為 part（零件）或 product（產品）。",
        "must be part or product.",
    ),
    (
        "error.word_single",
        "应为一个词，不能含空格。",
        "應為一個詞，不能含空格。",
        "must be one word, without spaces.",
    ),
    (
        "error.word_exists",
        "词典里已经有这个词。",
        "詞典裡已經有這個詞。",
        "is in the dictionary already.",
    ),
    (
        "error.feedback_duplicate",
        "这条反馈已经收录过。",
        "這則回饋已經收錄過。",
        "was taken in already.",
    ),
];
