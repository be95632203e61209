"""Personnel ledger (人员台账): members (``members``), ID numbers (``idcard``), who may enforce
(``enforce.can_enforce``), labels (``labels``), and the Excel import/export (``excel``)."""
