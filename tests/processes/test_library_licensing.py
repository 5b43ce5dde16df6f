"""The licensing services (NIB through risk-based licensing, PBG) run end to end on every branch, with
their decision tables: the risk level, the agency that verifies, the fee and the promised date."""

from datetime import datetime

import pytest
import time_machine
from django.core.cache import cache
from rest_framework.test import APIClient

from engine.models import EventType, HistoryEvent
from tests.conftest import client_for
from tests.processes.library_support import JAKARTA, MONDAY_MORNING, LibraryRun, deploy_bundled_library, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def citizen():
    cache.clear()
    with time_machine.travel(MONDAY_MORNING, tick=False):
        yield deploy_bundled_library()


def _business(citizen, *, kategori="G", modal=500_000_000, lahan=60, bahaya="rendah"):
    data = {"nama_usaha": "Toko Sumber Rejeki", "kbli": "47111", "kbli_kategori": kategori, "modal_usaha": modal,
            "luas_lahan": lahan, "potensi_bahaya": bahaya}
    run = LibraryRun("business_registration_nib", data, citizen=citizen, started_by="ptsp_loket")
    run.complete("verifikasi_data", "ptsp_loket", {"data_valid": True})
    return run


def _decision(run, element_id):
    event = HistoryEvent.objects.get(instance=run.instance, event_type=EventType.DECISION_EVALUATED,
                                     element_id=element_id)
    return event.details


@pytest.mark.parametrize(
    ("profile", "scale", "risk"),
    [
        ({"kategori": "G", "modal": 500_000_000}, "mikro", "rendah"),
        ({"kategori": "I", "modal": 3_000_000_000, "bahaya": "sedang"}, "kecil", "menengah_rendah"),
        ({"kategori": "C", "modal": 20_000_000_000}, "besar", "menengah_tinggi"),
        ({"kategori": "C", "modal": 8_000_000_000, "lahan": 12_000}, "menengah", "menengah_tinggi"),
        ({"kategori": "G", "modal": 2_000_000_000, "bahaya": "tinggi"}, "kecil", "tinggi"),
    ],
)
def test_nib_decision_tables_set_scale_risk_and_documents(citizen, profile, scale, risk):
    """The DMN tables give the business scale (PP 7/2021) and the risk level; NIB is issued for every level."""
    run = _business(citizen, **profile)
    data = run.refresh().data
    assert (data["skala_usaha"], data["tingkat_risiko"], data["nib_terbit"]) == (scale, risk, True)
    assert _decision(run, "tentukan_risiko")["decision_id"] == "tingkat_risiko"
    documents = data["dokumen_persyaratan"]
    assert documents[0].startswith("KTP-el")
    assert any("AMDAL" in document for document in documents) == (risk == "tinggi")
    assert any(document.startswith("NPWP") for document in documents) == (scale != "mikro")


def test_nib_low_risk_ends_with_the_nib(citizen):
    """Low risk: the NIB is the licence and the process ends at once. The promise (10 hari kerja) skips the
    Chinese New Year holiday and its collective leave day (17 and 16 February 2026)."""
    run = _business(citizen)
    assert run.refresh().status == "completed" and run.path()[-1] == "nib_terbit"
    assert run.instance.promised_at == datetime(2026, 2, 18, 16, 0, tzinfo=JAKARTA)


def test_nib_medium_low_risk_needs_only_the_applicants_statement(citizen):
    """Medium-low risk: the applicant's statement of compliance gives the standard certificate; nobody verifies."""
    run = _business(citizen, kategori="I", bahaya="sedang")
    assert run.open_element_ids() == ["pernyataan_standar"]
    run.complete("pernyataan_standar", None, {"pernyataan_disetujui": True})
    path = run.path()
    assert run.refresh().status == "completed" and path[-1] == "sertifikat_standar_terbit"
    assert "verifikasi_teknis" not in path


def test_nib_medium_high_risk_is_verified_by_the_industry_office(citizen):
    """Medium-high risk: the Industry and Trade Office verifies (not DPMPTSP's own verifier); a shortfall goes
    back to the applicant; the DPMPTSP head issues the standard certificate."""
    run = _business(citizen, kategori="C", modal=20_000_000_000)
    task = run.open_task("verifikasi_teknis")
    inbox = client_for(user("perindag_verifikator")).get("/api/v1/tasks/").json()["results"]
    assert task.pk in [row["id"] for row in inbox]
    refused = client_for(user("ptsp_verifikator")).post(f"/api/v1/tasks/{task.pk}/complete/",
                                                        {"data": {"hasil_verifikasi": "memenuhi"}}, format="json")
    assert refused.status_code in (403, 404)
    stage = run.tracking(APIClient())["current_stages"][0]
    assert stage["waiting_for"] == {"id": "Verifikator Teknis, Dinas Perindustrian dan Perdagangan",
                                    "en": "Technical verifier, Industry and Trade Office"}
    run.complete("verifikasi_teknis", "perindag_verifikator", {"hasil_verifikasi": "perbaikan"})
    run.complete("penuhi_persyaratan", None, {"keterangan_pemohon": "UKL-UPL terlampir"})
    run.complete("verifikasi_teknis", "perindag_pengawas", {"hasil_verifikasi": "memenuhi"})
    assert run.open_element_ids() == ["penetapan_perizinan"]
    run.complete("penetapan_perizinan", "ptsp_kepala", {"perizinan_ditetapkan": True})
    path = run.path()
    assert run.refresh().status == "completed" and path[-1] == "perizinan_terbit"
    assert path.count("verifikasi_teknis") == 2 and "pemeriksaan_lapangan" not in path


@pytest.mark.parametrize(("issued", "ends_at"), [(True, "perizinan_terbit"), (False, "permohonan_ditolak")])
def test_nib_high_risk_adds_a_site_inspection(citizen, issued, ends_at):
    """High risk: verification, then a site inspection (a mismatch goes back to the applicant), then the head."""
    run = _business(citizen, bahaya="tinggi")
    run.complete("verifikasi_teknis", "perindag_verifikator", {"hasil_verifikasi": "memenuhi"})
    run.complete("pemeriksaan_lapangan", "perindag_pengawas",
                 {"lapangan_sesuai": False, "tanggal_pemeriksaan": "2026-02-03"})
    run.complete("penuhi_persyaratan", None, {})
    run.complete("verifikasi_teknis", "perindag_verifikator", {"hasil_verifikasi": "memenuhi"})
    run.complete("pemeriksaan_lapangan", "perindag_pengawas",
                 {"lapangan_sesuai": True, "tanggal_pemeriksaan": "2026-02-04"})
    run.complete("penetapan_perizinan", "ptsp_kepala", {"perizinan_ditetapkan": issued})
    path = run.path()
    assert run.refresh().status == "completed" and path[-1] == ends_at
    assert path.count("pemeriksaan_lapangan") == 2 and run.instance.data["perizinan"] == "NIB dan Izin"


def test_nib_wrong_data_goes_back_to_the_applicant_first(citizen):
    """Data the front office finds wrong go back to the applicant before any risk is decided."""
    data = {"nama_usaha": "CV Maju", "kbli": "10710", "kbli_kategori": "C", "modal_usaha": 1, "luas_lahan": 100,
            "potensi_bahaya": "rendah"}
    run = LibraryRun("business_registration_nib", data, citizen=citizen, started_by="ptsp_loket")
    run.complete("verifikasi_data", "ptsp_supervisor", {"data_valid": False, "catatan_verifikasi": "Modal?"})
    assert run.open_element_ids() == ["perbaiki_data"]
    run.complete("perbaiki_data", None, {"modal_usaha": 2_500_000_000})
    run.complete("verifikasi_data", "ptsp_loket", {"data_valid": True})
    data = run.refresh().data
    assert (data["skala_usaha"], data["tingkat_risiko"]) == ("kecil", "menengah_rendah")
    assert run.path().count("verifikasi_data") == 2


def _building(citizen, *, fungsi="hunian", kompleksitas="tidak_sederhana", luas=120):
    data = {"nama_bangunan": "Rumah Tinggal", "fungsi_bangunan": fungsi, "kompleksitas": kompleksitas,
            "luas_bangunan": luas, "jumlah_lantai": 2}
    return LibraryRun("building_approval_pbg", data, citizen=citizen, started_by="pupr_loket")


def test_pbg_with_revision_loop_fee_and_payment(citizen):
    """Incomplete documents and a TPA revision loop back to the applicant; the DMN fee for a 120 m2 house of
    'tidak sederhana' complexity is 120 x 0.5 x 1.5 x Rp 25,000; a rejected payment is paid again."""
    run = _building(citizen)
    assert run.refresh().promised_at == datetime(2026, 3, 16, 16, 0, tzinfo=JAKARTA)
    run.complete("periksa_kelengkapan", "pupr_loket", {"dokumen_lengkap": False, "catatan_kelengkapan": "KKPR"})
    run.complete("lengkapi_dokumen", None, {})
    run.complete("periksa_kelengkapan", "pupr_loket", {"dokumen_lengkap": True})
    stage = run.tracking(APIClient())["current_stages"][0]
    assert stage["name_en"] == "Technical review by the expert team"
    assert stage["waiting_for"] == {"id": "Tim Profesi Ahli", "en": "Expert team (TPA)"}
    run.complete("pemeriksaan_standar_teknis", "pupr_tpa_struktur",
                 {"hasil_konsultasi": "revisi", "catatan_tpa": "Perkuat kolom lantai 2"})
    run.complete("revisi_rencana_teknis", None, {"keterangan_revisi": "Kolom 30x30"})
    run.complete("pemeriksaan_standar_teknis", "pupr_tpa_arsitektur", {"hasil_konsultasi": "memenuhi"})
    run.complete("terbitkan_sppst", "pupr_kepala", {"nomor_sppst": "SPPST-001"})
    fee = run.refresh().data["retribusi"]
    assert fee == {"tarif_per_m2": 25000, "indeks_fungsi": 0.5, "indeks_kompleksitas": 1.5,
                   "nilai_retribusi": 2_250_000}
    assert _decision(run, "hitung_retribusi")["decision_id"] == "retribusi_pbg"
    run.complete("bayar_retribusi", None, {"nomor_bukti_bayar": "SSRD-1"})
    run.complete("verifikasi_pembayaran", "pupr_verifikator", {"pembayaran_diterima": False})
    run.complete("bayar_retribusi", None, {"nomor_bukti_bayar": "SSRD-2"})
    run.complete("verifikasi_pembayaran", "pupr_verifikator", {"pembayaran_diterima": True})
    stage = run.tracking(APIClient())["current_stages"][0]
    assert stage["waiting_for"]["en"] == "Head of the one-stop service office"
    run.complete("terbitkan_pbg", "ptsp_kepala", {"nomor_pbg": "PBG-3578-2026-0001"})
    path = run.path()
    assert run.refresh().status == "completed" and path[-1] == "pbg_terbit"
    assert path.count("pemeriksaan_standar_teknis") == 2 and path.count("bayar_retribusi") == 2
    assert run.completed_by("revisi_rencana_teknis") == ["warga"]


def test_pbg_religious_building_pays_no_fee(citizen):
    """A religious building has function index 0: no fee, straight from the SPPST to the PBG."""
    run = _building(citizen, fungsi="keagamaan", kompleksitas="sederhana", luas=300)
    run.complete("periksa_kelengkapan", "pupr_loket", {"dokumen_lengkap": True})
    run.complete("pemeriksaan_standar_teknis", "pupr_tpa_arsitektur", {"hasil_konsultasi": "memenuhi"})
    run.complete("terbitkan_sppst", "pupr_kepala", {"nomor_sppst": "SPPST-002"})
    assert run.refresh().data["retribusi"]["nilai_retribusi"] == 0
    assert run.open_element_ids() == ["terbitkan_pbg"]
    run.complete("terbitkan_pbg", "ptsp_kepala", {"nomor_pbg": "PBG-3578-2026-0002"})
    path = run.path()
    assert run.refresh().status == "completed" and "bayar_retribusi" not in path


@pytest.mark.parametrize(("fungsi", "kompleksitas", "luas", "fee"), [
    ("usaha", "khusus", 800, 800 * 3 * 2 * 30_000),
    ("sosial_budaya", "sederhana", 100, 100 * 0.3 * 1 * 20_000),
])
def test_pbg_fee_follows_area_band_function_and_complexity(citizen, fungsi, kompleksitas, luas, fee):
    """The rate per m2 depends on the floor-area band; function and complexity multiply it."""
    run = _building(citizen, fungsi=fungsi, kompleksitas=kompleksitas, luas=luas)
    run.complete("periksa_kelengkapan", "pupr_loket", {"dokumen_lengkap": True})
    run.complete("pemeriksaan_standar_teknis", "pupr_tpa_arsitektur", {"hasil_konsultasi": "memenuhi"})
    run.complete("terbitkan_sppst", "pupr_kepala", {"nomor_sppst": "SPPST-003"})
    assert run.refresh().data["retribusi"]["nilai_retribusi"] == round(fee)
    assert run.open_element_ids() == ["bayar_retribusi"]
