"""执法文书 in the GUI: a case's documents tab (draft, issue, void, reissue), the PDF preview with
print and save, and the number register (文号登记簿)."""
