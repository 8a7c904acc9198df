//! Campaign steps, journeys, call-backs and portal messages in 简体中文, 繁體中文 and
//! English (see `i18n.rs`).

/// (key, zh-Hans, zh-Hant, en)
pub(crate) const JOURNEY_MESSAGES: &[(&str, &str, &str, &str)] = &[
    ("step.steps", "后续步骤", "後續步驟", "Follow-up steps"),
    (
        "step.help",
        "首封邮件之后，每位收到的客户依次走这些步骤：等待几天、再发一条（邮件、门户消息或回访任务）、按客户的反应跳到后面的步骤、或停止。跳转只能向后。留空的行不算。",
        "首封郵件之後，每位收到的客戶依次走這些步驟：等待幾天、再發一條（郵件、入口網站訊息或回訪任務）、按客戶的反應跳到後面的步驟、或停止。跳轉只能向後。留空的列不算。",
        "After the first mail, every customer it reached goes through these steps in turn: wait some days, send again (mail, portal message or call-back task), jump to a later step on what the customer did, or stop. Jumps only go forward. Empty rows do not count.",
    ),
    (
        "campaign.m_clv",
        "人均终身价值",
        "人均終身價值",
        "Lifetime value per customer",
    ),
    (
        "campaign.m_stage_up",
        "忠诚阶段上升比例",
        "忠誠階段上升比例",
        "Moved up a loyalty stage",
    ),
    ("field.steps", "后续步骤", "後續步驟", "steps"),
    ("step.number", "第 {n} 步", "第 {n} 步", "Step {n}"),
    (
        "step.wait",
        "等待 {days} 天",
        "等待 {days} 天",
        "Wait {days} days",
    ),
    (
        "step.branch",
        "如果客户{condition}，跳到第 {to} 步",
        "如果客戶{condition}，跳到第 {to} 步",
        "If the customer {condition}, go to step {to}",
    ),
    ("step.stop", "停止", "停止", "Stop"),
    (
        "step.stop_if",
        "如果客户{condition}，停止",
        "如果客戶{condition}，停止",
        "If the customer {condition}, stop",
    ),
    (
        "step.no_channel",
        "无此渠道",
        "無此渠道",
        "Not on this channel",
    ),
    ("step_kind.wait", "等待", "等待", "Wait"),
    ("step_kind.send", "发送", "發送", "Send"),
    ("step_kind.branch", "条件跳转", "條件跳轉", "Branch"),
    ("step_kind.stop", "停止", "停止", "Stop"),
    ("step_field.kind", "步骤类型", "步驟類型", "kind"),
    ("step_field.days", "天数", "天數", "days"),
    ("step_field.channel", "渠道", "渠道", "channel"),
    ("step_field.text_id", "文案", "文案", "text"),
    (
        "step_field.condition",
        "客户行为",
        "客戶行為",
        "customer did",
    ),
    ("step_field.to", "跳到第几步", "跳到第幾步", "go to step"),
    ("step_channel.email", "邮件", "郵件", "Mail"),
    (
        "step_channel.portal",
        "门户消息",
        "入口網站訊息",
        "Portal message",
    ),
    (
        "step_channel.callback",
        "回访任务",
        "回訪任務",
        "Call-back task",
    ),
    ("condition.opened", "已查看", "已查看", "opened it"),
    (
        "condition.clicked",
        "点开了链接",
        "點開了連結",
        "followed the link",
    ),
    ("condition.answered", "已回应", "已回應", "answered"),
    ("condition.bought", "已购买", "已購買", "bought"),
    (
        "condition.requested",
        "提交了服务请求",
        "提交了服務請求",
        "opened a request",
    ),
    ("journey.active", "进行中", "進行中", "In progress"),
    ("journey.done", "已走完", "已走完", "Finished"),
    ("journey.stopped", "已停止", "已停止", "Stopped"),
    (
        "error.too_many_steps",
        "步骤太多（最多 10 步）。",
        "步驟太多（最多 10 步）。",
        "has too many steps (10 at most).",
    ),
    (
        "error.step_not_ahead",
        "只能跳到后面已填写的步骤。",
        "只能跳到後面已填寫的步驟。",
        "must name a later step that is filled in.",
    ),
    (
        "error.step_kind_unknown",
        "不是已知的步骤类型。",
        "不是已知的步驟類型。",
        "is not a known kind of step.",
    ),
    (
        "error.step_channel_unknown",
        "渠道应为邮件、门户消息或回访任务。",
        "渠道應為郵件、入口網站訊息或回訪任務。",
        "must be mail, portal message or call-back task.",
    ),
    (
        "error.condition_unknown",
        "不是已知的客户行为。",
        "不是已知的客戶行為。",
        "is not a known thing a customer did.",
    ),
    (
        "error.callback_result_unknown",
        "请选择回访结果：已接通、无人接听、拒绝、号码错误。",
        "請選擇回訪結果：已接通、無人接聽、拒絕、號碼錯誤。",
        "must be reached, no answer, declined or wrong number.",
    ),
    (
        "error.callback_done",
        "这条回访已经记录过结果。",
        "這條回訪已經記錄過結果。",
        "this call-back already has its result.",
    ),
    ("entity.callback", "回访任务", "回訪任務", "call-back"),
    ("entity.portal_message", "消息", "訊息", "message"),
    (
        "tfield.campaign_link",
        "活动链接",
        "活動連結",
        "campaign link",
    ),
    (
        "trigger.backlog_shipped",
        "客户反馈的改进已上线",
        "客戶回饋的改進已上線",
        "Improvement asked for has shipped",
    ),
    (
        "trigger.need_found",
        "反馈中发现可诱导需求",
        "回饋中發現可誘導需求",
        "Inducible need found in feedback",
    ),
    ("tfield.improvement", "改进内容", "改進內容", "improvement"),
    ("nav.callbacks", "回访任务", "回訪任務", "Call-backs"),
    ("callback.title", "回访任务", "回訪任務", "Call-back tasks"),
    (
        "callback.help",
        "营销活动的“回访任务”步骤在这里为坐席生成任务：按话术致电客户，记录结果。已接通的客户算作“已回应”，活动据此决定下一步。",
        "行銷活動的「回訪任務」步驟在這裡為坐席產生任務：按話術致電客戶，記錄結果。已接通的客戶算作「已回應」，活動據此決定下一步。",
        "A campaign's call-back step makes a task here for an agent: call the customer with the script and record what came of it. A customer reached counts as having answered, and the campaign takes its next step on that.",
    ),
    ("callback.customer", "客户", "客戶", "Customer"),
    ("callback.phone", "电话", "電話", "Phone"),
    ("callback.script", "话术", "話術", "Script"),
    ("callback.campaign", "活动", "活動", "Campaign"),
    ("callback.created", "生成时间", "產生時間", "Made"),
    ("callback.result", "结果", "結果", "Result"),
    ("callback.note", "备注", "備註", "Note"),
    ("callback.record", "记录结果", "記錄結果", "Record"),
    (
        "callback.none",
        "没有待办的回访。",
        "沒有待辦的回訪。",
        "No call-backs to make.",
    ),
    ("callback.done_list", "最近完成", "最近完成", "Done lately"),
    ("callback.by", "记录人", "記錄人", "By"),
    ("cbresult.reached", "已接通", "已接通", "Reached"),
    ("cbresult.no_answer", "无人接听", "無人接聽", "No answer"),
    ("cbresult.declined", "客户拒绝", "客戶拒絕", "Declined"),
    (
        "cbresult.wrong_number",
        "号码错误",
        "號碼錯誤",
        "Wrong number",
    ),
    (
        "cbresult.cancelled",
        "活动已停止",
        "活動已停止",
        "Campaign stopped",
    ),
    ("field.result", "结果", "結果", "result"),
    ("portal.messages", "我的消息", "我的訊息", "My messages"),
    (
        "portal.no_messages",
        "暂无消息。",
        "暫無訊息。",
        "No messages.",
    ),
    ("portal.unread", "未读", "未讀", "Unread"),
];

#[cfg(test)]
mod tests {
    use crate::i18n::field_message;
    use aftercare_domain::lang::Lang;

    #[test]
    fn every_journey_error_code_has_a_message() {
        for code in [
            "too_many_steps",
            "step_not_ahead",
            "step_kind_unknown",
            "step_channel_unknown",
            "condition_unknown",
            "callback_result_unknown",
            "callback_done",
        ] {
            for lang in [Lang::ZhHans, Lang::ZhHant, Lang::En] {
                assert_ne!(field_message(lang, code), format!("error.{code}"), "{code}");
            }
        }
    }
}
