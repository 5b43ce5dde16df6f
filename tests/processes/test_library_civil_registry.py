"""The civil registry's bundled services (e-KTP, birth certificate) run end to end on every branch."""

from datetime import datetime

import pytest
import time_machine
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.conftest import client_for
from tests.processes.library_support import JAKARTA, MONDAY_MORNING, LibraryRun, deploy_bundled_library, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def citizen():
    cache.clear()
    with time_machine.travel(MONDAY_MORNING, tick=False):
        yield deploy_bundled_library()


def _ektp(citizen):
    return LibraryRun("ektp_issuance", {"nik": "3578010101080001", "umur": 17}, citizen=citizen,
                      started_by="capil_loket")


def _record_and_print(run):
    biometrics = {"foto_direkam": True, "sidik_jari_direkam": True, "iris_direkam": True, "tanda_tangan_direkam": True}
    run.complete("rekam_biometrik", "capil_loket", biometrics)
    run.complete("verifikasi_rekaman", "capil_verifikator", {"rekaman_valid": True})
    run.complete("cetak_ktp", "capil_loket", {"nomor_blangko": "KTP-0001"})
    run.complete("serahkan_ktp", "capil_loket", {"diterima_sendiri": True})


def test_ektp_straight_through_is_promised_in_three_working_days(citizen):
    """Complete documents, a good recording: printed and collected; promised by close of Thursday (3 hari kerja)."""
    run = _ektp(citizen)
    assert run.refresh().promised_at == datetime(2026, 2, 5, 16, 0, tzinfo=JAKARTA)
    run.complete("periksa_dokumen", "capil_verifikator", {"hasil_pemeriksaan": "lengkap"})
    _record_and_print(run)
    assert run.refresh().status == "completed"
    assert [step for step in run.path() if not step.startswith("flow")] == [
        "permohonan_diterima", "periksa_dokumen", "gw_hasil_pemeriksaan", "rekam_biometrik", "verifikasi_rekaman",
        "gw_rekaman_valid", "cetak_ktp", "serahkan_ktp", "ktp_diterima",
    ]


def test_ektp_missing_documents_go_back_to_the_applicant_and_a_bad_recording_is_redone(citizen):
    """'kurang' sends the check to the citizen's inbox (the clock pauses); an invalid record is recorded again."""
    run = _ektp(citizen)
    run.complete("periksa_dokumen", "capil_verifikator", {"hasil_pemeriksaan": "kurang", "catatan_pemeriksaan": "KK"})
    assert run.open_element_ids() == ["lengkapi_dokumen"]
    tracking = run.tracking(APIClient())
    stage = tracking["current_stages"][0]
    assert (stage["name"], stage["name_en"]) == ("Melengkapi dokumen persyaratan", "Complete the required documents")
    assert stage["waiting_for"]["en"] == "You (the applicant)"
    assert {"id": "Kartu Keluarga (KK)", "en": "Family card (KK)"} in stage["documents"]
    run.complete("lengkapi_dokumen", None, {"keterangan_pemohon": "KK terlampir"})
    run.complete("periksa_dokumen", "capil_verifikator", {"hasil_pemeriksaan": "lengkap"})
    run.complete("rekam_biometrik", "capil_loket", {"foto_direkam": True, "sidik_jari_direkam": False,
                                                     "iris_direkam": True, "tanda_tangan_direkam": True})
    run.complete("verifikasi_rekaman", "capil_verifikator", {"rekaman_valid": False})
    assert run.open_element_ids() == ["rekam_biometrik"]
    _record_and_print(run)
    assert run.refresh().status == "completed"
    path = run.path()
    assert path.count("periksa_dokumen") == 2 and path.count("rekam_biometrik") == 2
    assert "lengkapi_dokumen" in path and run.completed_by("lengkapi_dokumen") == ["warga"]


@pytest.mark.parametrize(("decision", "ends_at"), [("tolak", "permohonan_ditolak"), ("lanjutkan", "ktp_diterima")])
def test_ektp_application_not_meeting_requirements_is_decided_by_the_head(citizen, decision, ends_at):
    """'tidak_memenuhi' goes to the head of office, who refuses it or sends it on to recording."""
    run = _ektp(citizen)
    run.complete("periksa_dokumen", "capil_verifikator", {"hasil_pemeriksaan": "tidak_memenuhi"})
    stage = run.tracking(APIClient())["current_stages"][0]
    assert stage["waiting_for"] == {"id": "Kepala Dinas", "en": "Head of office"}
    run.complete("tetapkan_keputusan", "capil_kepala", {"keputusan": decision, "alasan_keputusan": "Belum 17 tahun"})
    if decision == "lanjutkan":
        _record_and_print(run)
    assert run.refresh().status == "completed"
    assert run.path()[-1] == ends_at
    assert run.completed_by("tetapkan_keputusan") == ["capil_kepala"]


def _birth(citizen, *, born="2026-01-20", married=True):
    data = {"nama_anak": "Ayu", "tanggal_lahir": born, "tanggal_permohonan": "2026-02-02",
            "punya_buku_nikah": married}
    return LibraryRun("birth_certificate", data, citizen=citizen, started_by="capil_loket")


def _register_and_sign(run):
    run.complete("catat_register", "capil_verifikator", {"nomor_akta": "3578-LT-02022026-0001"})
    run.complete("tandatangani_akta", "capil_kepala", {"akta_ditandatangani": True})
    run.complete("serahkan_akta", "capil_loket", {"cara_penyerahan": "elektronik"})


def test_birth_registered_on_time_with_marriage_book(citizen):
    """Reported 13 days after the birth with a marriage book: registered, signed, handed over; 5 hari kerja."""
    run = _birth(citizen)
    instance = run.refresh()
    assert instance.data["hari_sejak_kelahiran"] == 13 and instance.data["pelaporan_terlambat"] is False
    assert instance.promised_at == datetime(2026, 2, 9, 16, 0, tzinfo=JAKARTA)
    tracking = run.tracking(APIClient())
    assert tracking["service"]["name_en"] == "Birth registration and birth certificate"
    assert tracking["service"]["agency"].startswith("Dinas Kependudukan")
    assert tracking["current_stages"][0]["name_en"] == "Verification of the documents"
    run.complete("verifikasi_berkas", "capil_verifikator", {"berkas_lengkap": True})
    _register_and_sign(run)
    path = run.path()
    assert run.refresh().status == "completed" and path[-1] == "akta_diterima"
    assert "tandatangani_sptjm" not in path and "keputusan_terlambat" not in path


def test_birth_without_marriage_book_needs_sptjm_and_incomplete_documents_loop(citizen):
    """No marriage book: the parents sign an SPTJM; incomplete documents go back to them first."""
    run = _birth(citizen, married=False)
    run.complete("verifikasi_berkas", "capil_verifikator", {"berkas_lengkap": False, "catatan_verifikasi": "KTP"})
    run.complete("lengkapi_berkas", None, {})
    run.complete("verifikasi_berkas", "capil_verifikator", {"berkas_lengkap": True})
    assert run.open_element_ids() == ["tandatangani_sptjm"]
    run.complete("tandatangani_sptjm", None, {"sptjm_ditandatangani": True, "nama_saksi_1": "Budi",
                                              "nama_saksi_2": "Sari"})
    _register_and_sign(run)
    path = run.path()
    assert path.count("verifikasi_berkas") == 2 and "tandatangani_sptjm" in path
    assert run.refresh().status == "completed"


@pytest.mark.parametrize(("approved", "ends_at"), [(True, "akta_diterima"), (False, "permohonan_ditolak")])
def test_late_birth_registration_needs_the_heads_decision(citizen, approved, ends_at):
    """More than 60 days after the birth, the head of office decides before the birth is registered."""
    run = _birth(citizen, born="2025-10-01")
    assert run.refresh().data["pelaporan_terlambat"] is True
    run.complete("verifikasi_berkas", "capil_verifikator", {"berkas_lengkap": True})
    assert run.open_element_ids() == ["keputusan_terlambat"]
    run.complete("keputusan_terlambat", "capil_kepala", {"pencatatan_disetujui": approved,
                                                         "alasan_keputusan": "Saksi dan surat lahir sah"})
    if approved:
        _register_and_sign(run)
    assert run.refresh().status == "completed" and run.path()[-1] == ends_at


def test_inbox_and_catalog_show_english_names_and_documents(citizen):
    """The inbox gives each task its English name, lane and documents; the catalog its English process name."""
    run = _ektp(citizen)
    run.complete("periksa_dokumen", "capil_verifikator", {"hasil_pemeriksaan": "kurang"})
    rows = client_for(citizen).get("/api/v1/tasks/").json()["results"]
    assert [(row["name"], row["name_en"], row["lane_en"]) for row in rows] == [
        ("Melengkapi dokumen persyaratan", "Complete the required documents", "Applicant")]
    assert rows[0]["documents"][0] == {"id": "Kartu Keluarga (KK)", "en": "Family card (KK)"}
    detail = client_for(user("capil_supervisor")).get(f"/api/v1/process-instances/{run.instance.pk}/").json()
    assert detail["open_tasks"][0]["name_en"] == "Complete the required documents"
    definitions = client_for(user("capil_supervisor")).get("/api/v1/process-definitions/?key=ektp_issuance").json()
    listed = definitions["results"] if isinstance(definitions, dict) else definitions
    assert listed[0]["name_en"] == "Issuing a new electronic identity card (e-KTP)"
