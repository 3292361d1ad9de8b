"""getscu's modality prefix of a SOP class (``CT`` for CT Image Storage): the first part of the file
name getscu gives a received object, and a short word for a SOP class in tables and completion.

A fact about SOP classes, taken from DCMTK, so it lives with them; storage/naming.py names files
with it. No pydicom or pynetdicom: a table and a look-up.
"""

from __future__ import annotations

UNKNOWN_PREFIX = "UNKNOWN"  # getscu's prefix for a SOP class it has no modality for

# DCMTK 3.6.7 dcmSOPClassUIDToModality() (dcmdata/libsrc/dcuid.cc, table `modalities`), read from
# the installed libdcmdata.so.17 for every UID pydicom knows; "=X" abbreviates 1.2.840.10008.5.1.4.1.1.X.
# tests/unit/test_storage.py checks this table against the library when it is installed.
_STORAGE_ROOT = "1.2.840.10008.5.1.4.1.1."
_PREFIX_TABLE = """
1.2.840.10008.5.1.1.27 SP  1.2.840.10008.5.1.1.29 HG  1.2.840.10008.5.1.1.30 HC  =1 CR  =1.1 DX  =1.1.1 DP  =1.2
DXm  =1.2.1 DPm  =1.3 DXo  =1.3.1 DPo  =2 CT  =2.1 CTe  =2.2 CTl  =3 USf  =3.1 USm  =4 MR  =4.1 MRe  =4.2 MRs
=4.3 MRc  =4.4 MRl  =5 NMr  =6 USr  =6.1 US  =6.2 USe  =7 SC  =7.1 SCs  =7.2 SCb  =7.3 SCw  =7.4 SCc  =8 OV  =9
CV  =9.1 WV_d  =9.1.1 TLE  =9.1.2 ECG  =9.1.3 ECA  =9.2.1 WVh  =9.3.1 WVc  =9.4.1 AUV  =9.4.2 AUG  =9.5.1 WVa
=9.6.1 WVr  =9.6.2 WVm  =9.7.1 EEG  =9.7.2 EMG  =9.7.3 EOG  =9.7.4 WVs  =9.8.1 WVb  =10 ML  =11 VO  =11.1 PSg
=11.2 PSc  =11.3 PSp  =11.4 PSb  =11.5 PSx  =11.6 VPg  =11.7 VPc  =11.8 PSa  =11.9 VPv  =11.10 VPs  =11.11 VPm
=12.1 XA  =12.1.1 XAe  =12.2 RF  =12.2.1 RFe  =12.3 XB  =13.1.1 XA3  =13.1.2 XC3  =13.1.3 BT  =13.1.4 BX
=13.1.5 BP  =14.1 OCt  =14.2 OCp  =20 NM  =30 PM  =66 RAW  =66.1 RGs  =66.2 FID  =66.3 RGd  =66.4 SG  =66.5 SGs
=66.6 TR  =67 RWM  =68.1 SSm  =68.2 SSp  =77.1 VLr  =77.1.1 VLe  =77.1.1.1 VVe  =77.1.2 VLm  =77.1.2.1 VVm
=77.1.3 VLs  =77.1.4 VLp  =77.1.4.1 VVp  =77.1.5.1 OPb  =77.1.5.2 OPw  =77.1.5.3 OPr  =77.1.5.4 OPt  =77.1.5.5
OWs  =77.1.5.6 OW3  =77.1.5.7 OCe  =77.1.5.8 OCb  =77.1.6 VLw  =77.1.7 VLd  =77.2 VMr  =78.1 OPl  =78.2 OPa
=78.3 OPk  =78.4 OPs  =78.5 OPv  =78.6 SRs  =78.7 OPx  =78.8 OPc  =79.1 SRg  =80.1 OPp  =81.1 OPm  =82.1 CM
=88.1 SR_t  =88.2 SR_a  =88.3 SR_d  =88.4 SR_c  =88.11 SRt  =88.22 SRe  =88.33 SRc  =88.34 SR3  =88.35 SRx
=88.40 SRp  =88.50 SRm  =88.59 KO  =88.65 SRh  =88.67 SRd  =88.68 SRr  =88.69 SRo  =88.70 SRi  =88.71 SRa
=88.72 SRu  =88.73 SRq  =88.74 SRj  =88.75 SRi  =88.76 SRde  =90.1 AS  =91.1 MAs  =104.1 PDF  =104.2 CDA  =104.3
STL  =104.4 OBJ  =104.5 MTL  =128 PI  =128.1 PIl  =129 PC  =130 PIe  =131 SD  =200.1 PPcd  =200.2 PPcp  =200.3
PA  =200.7 PPxd  =200.8 PPxp  =481.1 RI  =481.2 RD  =481.3 RS  =481.4 RTb  =481.5 RP  =481.6 RTr  =481.7 RTs
=481.8 RPi  =481.9 RTi  =481.10 RIp  =481.11 RAs  =481.12 RSe  =481.13 Rca  =481.14 Rto  =481.15 Rra  =481.16
RSr  =481.17 RRs  =481.18 RRt  =481.19 RRc  =481.20 RRr  =481.21 RSd  =481.22 RTp  =501.1 CTs  =501.2.1 DXs
=501.2.2 DPs  =501.3 TDR  =501.4 AI2  =501.5 AI3  =501.6 QR  =601.1 EC  =601.2 ECm  1.2.840.10008.5.1.4.34.1
RB_d  1.2.840.10008.5.1.4.34.7 RTd  1.2.840.10008.5.1.4.34.10 RTa  1.2.840.10008.5.1.4.38.1 HP
1.2.840.10008.5.1.4.39.1 CP  1.2.840.10008.5.1.4.43.1 IT  1.2.840.10008.5.1.4.44.1 ITa  1.2.840.10008.5.1.4.45.1
ITg
"""
_TOKENS = _PREFIX_TABLE.split()
MODALITY_PREFIXES: dict[str, str] = {
    (_STORAGE_ROOT + key[1:] if key.startswith("=") else key): prefix
    for key, prefix in zip(_TOKENS[::2], _TOKENS[1::2], strict=True)
}


def modality_prefix(sop_class_uid: str) -> str:
    """getscu's file-name prefix for a SOP class: ``CT`` for CT Image Storage, ``UNKNOWN`` if none."""
    return MODALITY_PREFIXES.get(str(sop_class_uid).rstrip("\0 "), UNKNOWN_PREFIX)
