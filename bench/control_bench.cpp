// BM_ParseHandshake, BM_ParseServiceList: see control parser.
