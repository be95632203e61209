"""The fields a document template may use (文书字段): what :func:`app.documents.binding.document_data`
provides for every case, with the Chinese name a clerk or the district sees in messages.

A template names a field as ``{party_name}`` in its wording; loading a template refuses a field
this version of the program does not provide, so a template the district ships for a newer
release fails when it is imported, not when a clerk prints. Three kinds:

- text (``TEXT``): a string, printed where the placeholder stands; an empty one prints as a blank
  to fill by hand, or struck out in a written record.
- flags (``FLAGS``): true/false, only for a block's ``when`` / ``unless``.
- lists (``LISTS``): rows for the blocks that repeat (``qa``, ``list``, ``signatures``' officers),
  each row a mapping with the keys given.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

TEXT: Final = MappingProxyType(
    {
        # the squad and the document
        "enforcing_body": "执法主体名称",
        "squad_name": "中队名称",
        "reconsideration_body": "行政复议机关",
        "court_name": "管辖人民法院",
        "doc_title": "文书名称",
        "doc_number": "文号",
        "doc_date": "文书日期",
        # the case
        "case_number": "案号",
        "case_title": "案由",
        "case_facts": "违法事实",
        "case_place": "违法地点",
        "procedure_label": "程序类型",
        "stage_label": "办理阶段",
        "opened_date": "登记日期",
        "filed_date": "立案日期",
        "decided_date": "决定日期",
        "served_date": "送达日期",
        "closed_date": "结案日期",
        # the violation item and the discretion tier
        "item_name": "执法事项",
        "breach_basis": "违法依据",
        "penalty_basis": "处罚依据",
        "tier_name": "裁量阶次",
        # the lead
        "lead_number": "案源编号",
        "lead_source": "案件来源",
        "lead_received_date": "案源登记日期",
        "lead_address": "案源地点",
        "lead_description": "案源情况",
        "lead_reporter": "举报人",
        # the party
        "party_name": "当事人",
        "party_kind_label": "当事人类别",
        "party_id_label": "证件名称",
        "party_id_number": "证件号码",
        "party_gender": "性别",
        "party_age": "年龄",
        "party_birth_date": "出生日期",
        "party_address": "住址（住所）",
        "party_phone": "联系电话",
        "party_legal_rep": "法定代表人",
        "party_summary": "当事人基本情况",
        # the officers of the act the document records
        "officer_names": "执法人员",
        "officer_certs": "执法人员及执法证号",
        "officer1_name": "执法人员（主办）",
        "officer1_cert": "主办人执法证号",
        "officer2_name": "执法人员（协办）",
        "officer2_cert": "协办人执法证号",
        # filing
        "filing_opinion": "立案审批意见",
        "filing_approver": "立案审批人",
        "filing_approved_date": "立案审批日期",
        "handler_opinion": "承办人意见",
        # investigation and the inquiry record
        "investigation_date": "调查日期",
        "investigation_records": "调查取证记录",
        "investigation_note": "调查情况",
        "evidence_list": "证据",
        "inquiry_date": "询问日期",
        "inquiry_place": "询问地点",
        "interviewee_name": "被询问人",
        "interviewee_role": "被询问人身份",
        "interviewee_gender": "被询问人性别",
        "interviewee_age": "被询问人年龄",
        "interviewee_id_number": "被询问人身份证号",
        "interviewee_address": "被询问人住址",
        "interviewee_phone": "被询问人电话",
        "recorder_name": "记录人",
        # penalty
        "outcome_label": "处理结果",
        "penalty_types_text": "处罚种类",
        "penalty_text": "处罚内容",
        "fine_digits": "罚款金额（小写）",
        "fine_capital": "罚款金额（大写）",
        "decision_reasons": "决定理由",
        "statement_text": "陈述申辩及复核情况",
        # prior notice
        "notice_date": "告知日期",
        "notice_received_date": "告知书送达日期",
        "notice_penalty_text": "拟处罚内容",
        "notice_fine_digits": "拟罚款金额（小写）",
        "notice_fine_capital": "拟罚款金额（大写）",
        # service
        "served_document": "送达文书",
        "service_method": "送达方式",
        "service_date": "送达日期",
        "service_place": "送达地点",
        "received_by": "收件人",
        "server_name": "送达人",
        # summary procedure
        "spot_place": "处罚地点",
        "payment_text": "缴款方式",
        # closure
        "closure_opinion": "结案审批意见",
        "closure_approver": "结案审批人",
        "execution_text": "执行情况",
        # measures
        "preservation_date": "先行登记保存日期",
        "preservation_place": "保存地点",
        "preservation_reason": "先行登记保存理由",
        "seizure_date": "查封扣押日期",
        "seizure_measure": "强制措施种类",
        "seizure_place": "保管场所",
        "seizure_reason": "查封扣押理由",
        "seizure_due_date": "查封扣押期限届满日",
        "payment_due_date": "缴款期限届满日",
        "reminder_date": "催告日期",
        "late_fee_text": "加处罚款",
        # -- the remaining standard documents (lead register, records, review, hearing, execution,
        #    transfer): see app/documents/binding.py, section "remaining standard documents" --
        "lead_source_ref": "来源编号（工单号）",
        "lead_reporter_phone": "举报人联系电话",
        "lead_occurred_date": "案发时间",
        "lead_received_time": "案源登记时间",
        "lead_grid_zone": "所属网格",
        "lead_registered_by": "案源登记人",
        "lead_handling": "案源处理情况",
        "investigator_names": "案件调查人员",
        "inspection_date": "检查日期",
        "inspection_place": "检查地点",
        "inspection_text": "现场检查情况",
        "correction_due_date": "改正期限",
        "preservation_handled_date": "先行登记保存处理日期",
        "preservation_outcome": "先行登记保存处理决定",
        "preservation_handling_note": "先行登记保存处理说明",
        "conclusion_date": "调查终结日期",
        "conclusion_opinion": "调查终结审批意见",
        "conclusion_approver": "调查终结审批人",
        "conclusion_reasons": "调查终结理由",
        "proposed_outcome_label": "拟处理意见",
        "proposed_penalty_text": "拟处罚内容",
        "conclusion_proposal": "承办人处理建议",
        "review_date": "法制审核日期",
        "review_triggers": "法制审核事由",
        "review_opinion": "法制审核意见",
        "reviewer_name": "法制审核人员",
        "reviewer_qualification_no": "法律职业资格证书编号",
        "discussion_date": "集体讨论日期",
        "discussion_host": "集体讨论主持人",
        "discussion_place": "集体讨论地点",
        "discussion_recorder": "集体讨论记录人",
        "discussion_attendees": "集体讨论参加人员",
        "discussion_conclusion": "集体讨论结论",
        "hearing_request_date": "听证申请日期",
        "hearing_date": "听证日期",
        "hearing_notified_date": "听证通知日期",
        "hearing_place": "听证地点",
        "hearing_chair": "听证主持人",
        "hearing_recorder": "听证记录员",
        "hearing_record_text": "听证记录",
        "application_date": "申请强制执行日期",
        "application_court": "受理申请的人民法院",
        "application_approver": "申请机关负责人",
        "late_fee_digits": "加处罚款金额（小写）",
        "late_fee_capital": "加处罚款金额（大写）",
        "transfer_to": "移送机关",
        # -- end of the remaining standard documents --
        # -- dossier (案卷装订, app/documents/dossier.py): given by the compiler as overrides --
        "archive_number": "档号",
        "retention_period": "保管期限",
        "volume_label": "卷次",
        "dossier_result": "处理结果",
        "dossier_pages": "卷内页数",
        "dossier_documents": "卷内文书件数",
        "dossier_photos": "证据照片张数",
        "dossier_other_evidence": "其他证据件数",
        "dossier_note": "卷内情况说明",
        "dossier_binder": "立卷人",
        "dossier_checker": "检查人",
        "dossier_date": "立卷日期",
        # -- end of dossier fields --
    }
)

FLAGS: Final = MappingProxyType(
    {
        "party_is_person": "当事人是自然人",
        "has_fine": "处以罚款",
        "hearing_rights": "享有听证权利",
        "spot_collected": "当场收缴罚款",
        "numbered": "已编号",
        "has_lead": "有案源登记",
        "has_preservation": "有先行登记保存",
        "has_seizure": "有查封扣押",
        # remaining standard documents (binding.py)
        "hearing_requested": "当事人申请听证",
        "hearing_held": "已举行听证",
    }
)

#: List fields and the keys of each row.
LISTS: Final = MappingProxyType(
    {
        "officers": ("name", "cert_no"),
        "qa": ("q", "a"),
        "preservation_items": ("no", "name", "quantity", "unit"),
        "seizure_items": ("no", "name", "quantity", "unit"),
        # dossier (app/documents/dossier.py): the rows of the 卷内目录
        "dossier_items": ("no", "number", "author", "title", "date", "pages", "note"),
    }
)
LIST_LABELS: Final = MappingProxyType(
    {
        "officers": "执法人员名单",
        "qa": "询问问答",
        "preservation_items": "先行登记保存物品清单",
        "seizure_items": "查封扣押物品清单",
        "dossier_items": "卷内文件目录",  # dossier (app/documents/dossier.py)
    }
)


def label_of(name: str) -> str:
    return TEXT.get(name) or FLAGS.get(name) or LIST_LABELS.get(name) or name
