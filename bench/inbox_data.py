"""Synthetic inbox data for bench/inbox.py, generated inside PostgreSQL with ``generate_series``.

One statement per table, no ORM round trips: a million open tasks load in about a minute. The shape:

- ``agencies`` agencies with skewed sizes (the largest gets about 14 % of users and tasks, the
  smallest about 3 %), each with ``groups // agencies`` groups (``agency-007/Seksi 3``); within an
  agency the first groups are the busy ones (group k gets about 1/sqrt(k) more work).
- ``users`` staff users spread over the agencies like the work: 85 % officers, 10 % supervisors,
  5 % managers; each in 1 to 3 groups of their agency, the busy groups having the most members.
- five processes per agency (one of them takes half the applications), one running instance per
  1.25 open tasks (a quarter of the instances wait on two parallel tasks), with process variables
  ``district`` (10 values), ``urgent`` (5 % true), ``amount`` and ``channel``.
- ``tasks`` open tasks: 15 % claimed by a member of their group, 70 % with a due date (about a
  third of those overdue), priorities 20/50/80; 96 % offered to one group of their agency (3 % of
  those also to a group of another agency), 2 % to one officer, 2 % to nobody.
- the open tasks' copies of their instances' plain variables (``OpenTaskVariable``, four per task), as
  the projection writes them: ``jsonb``'s text of these values (short texts, integers, booleans) is the
  canonical text of ``engine.task_variables``.
- ``closed`` completed or cancelled tasks on older instances, with their candidate groups: the
  history that piles up behind the inbox.
"""

import json

from engine.task_variables import MAX_VALUE_LENGTH

DISTRICTS = "Gubeng Tegalsari Genteng Bubutan Simokerto Tambaksari Sukolilo Rungkut Wonokromo Sawahan".split()
PROCESS_NAMES = ["building_permit", "business_license", "birth_certificate", "land_certificate", "waste_permit"]
ELEMENTS = [
    ("check_completeness", "Check documents are complete"),
    ("technical_review", "Technical review"),
    ("legal_review", "Legal review"),
    ("field_inspection", "Field inspection"),
    ("approve_permit", "Approve the permit"),
    ("revise_documents", "Revise documents"),
]
OPEN = "('ready', 'claimed')"
# What a deployed definition's element catalog holds for the inbox: a JSON Schema form on two of the
# tasks (processes.extensions reads them from the BPMN at deploy), so the list shows forms for some rows.
_FORM = {"schema": {"type": "object", "required": ["documents_complete"], "properties": {
    "documents_complete": {"type": "boolean", "title": "Documents complete"},
    "remarks": {"type": "string", "title": "Remarks", "maxLength": 2000}}}, "ui_schema": None}
ELEMENT_CATALOG = json.dumps({"check_completeness": {"lane": "Front Office", "form": _FORM},
                              "technical_review": {"lane": "Verifier", "form": _FORM},
                              "approve_permit": {"lane": "Head of Office"}}).replace("'", "''")


def _array(values):
    return "ARRAY[" + ", ".join("'" + value.replace("'", "''") + "'" for value in values) + "]"


def statements(*, agencies, groups, users, tasks, closed):
    """The SQL that fills an empty schema, in order, as (label, sql) pairs."""
    per_agency = max(1, groups // agencies)
    instances = max(1, (tasks * 4) // 5)
    closed_instances = max(1, closed // 3)
    processes = len(PROCESS_NAMES)
    agency_skew = f"(1 + floor({agencies} * power(random(), 1.5)))::int"
    group_in_agency = f"floor({per_agency} * power(random(), 2))::int"
    element_ids, element_names = _array([e for e, _ in ELEMENTS]), _array([n for _, n in ELEMENTS])
    return [
        ("agencies", f"""
            INSERT INTO engine_agency (id, code, name, name_en, timezone)
            SELECT a, 'agency-' || lpad(a::text, 3, '0'), 'Dinas ' || a, 'Agency ' || a, 'Asia/Jakarta'
            FROM generate_series(1, {agencies}) a"""),
        ("groups", f"""
            INSERT INTO auth_group (id, name)
            SELECT g, 'agency-' || lpad(((g - 1) / {per_agency} + 1)::text, 3, '0')
                      || '/Seksi ' || ((g - 1) % {per_agency} + 1)
            FROM generate_series(1, {agencies * per_agency}) g"""),
        ("agency groups", f"""
            INSERT INTO engine_agencygroup (group_id, agency_id, name)
            SELECT g, (g - 1) / {per_agency} + 1, 'Seksi ' || ((g - 1) % {per_agency} + 1)
            FROM generate_series(1, {agencies * per_agency}) g"""),
        ("users", f"""
            CREATE TEMP TABLE bench_user AS
            SELECT u AS id, {agency_skew} AS agency_id, random() AS r FROM generate_series(1, {users}) u;
            INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email,
                                   is_staff, is_active, date_joined)
            SELECT id, '!', false, 'user' || id, '', '', '', false, true, now() FROM bench_user;
            INSERT INTO engine_membership (user_id, agency_id, role)
            SELECT id, agency_id,
                   CASE WHEN r < 0.85 THEN 'officer' WHEN r < 0.95 THEN 'supervisor' ELSE 'manager' END
            FROM bench_user"""),
        ("group memberships", f"""
            INSERT INTO auth_user_groups (user_id, group_id)
            SELECT DISTINCT u.id, (u.agency_id - 1) * {per_agency} + 1 + {group_in_agency}
            FROM bench_user u
            CROSS JOIN LATERAL generate_series(1, 1 + floor(random() * 3 + u.id * 0)::int) n
            WHERE u.r < 0.95;
            CREATE TEMP TABLE bench_member AS
            SELECT group_id, user_id, row_number() OVER (PARTITION BY group_id ORDER BY user_id) AS rn,
                   count(*) OVER (PARTITION BY group_id) AS members
            FROM auth_user_groups;
            CREATE INDEX ON bench_member (group_id, rn);
            CREATE TEMP TABLE bench_officer AS
            SELECT agency_id, id AS user_id, row_number() OVER (PARTITION BY agency_id ORDER BY id) AS rn,
                   count(*) OVER (PARTITION BY agency_id) AS officers
            FROM bench_user WHERE r < 0.85;
            CREATE INDEX ON bench_officer (agency_id, rn)"""),
        ("definitions", f"""
            INSERT INTO processes_processdefinition (id, key, version, name, agency_id, sha256, filename,
                                                     bpmn_xml, element_catalog, service_levels, decision_files,
                                                     step_texts, validation_report, deployed_at)
            SELECT (a - 1) * {processes} + p, ({_array(PROCESS_NAMES)})[p] || '_' || lpad(a::text, 3, '0'), 1,
                   initcap(replace(({_array(PROCESS_NAMES)})[p], '_', ' ')), a, md5(a || '/' || p), '', '',
                   '{ELEMENT_CATALOG}', '{{}}', '{{}}', '{{}}', '{{}}', now() - interval '400 days'
            FROM generate_series(1, {agencies}) a, generate_series(1, {processes}) p"""),
        ("instances", f"""
            INSERT INTO engine_processinstance (id, definition_id, process_key, status, tracking_code, business_key,
                                                state, data, revision, error_message, error_element_id,
                                                started_at, updated_at)
            SELECT s.i, d.id, d.key, CASE WHEN s.i > {instances} THEN 'completed' ELSE 'running' END,
                   'TRK-' || lpad(s.i::text, 8, '0'), '',
                   jsonb_build_object('serializer_version', '3.2', 'last_task', md5(s.i::text)),
                   jsonb_build_object('district', ({_array(DISTRICTS)})[1 + floor(random() * 10)::int],
                                      'urgent', random() < 0.05, 'amount', floor(random() * 10000000)::int,
                                      'channel', CASE WHEN random() < 0.6 THEN 'online' ELSE 'counter' END),
                   3, '', '', s.started_at, s.started_at
            FROM (SELECT i, {agency_skew} AS agency, 1 + floor({processes} * power(random(), 2.5))::int AS process,
                         CASE WHEN i > {instances} THEN now() - interval '400 days' * random()
                              ELSE now() - interval '60 days' * power(random(), 2) END AS started_at
                  FROM generate_series(1, {instances + closed_instances}) i) s
            JOIN processes_processdefinition d ON d.id = (s.agency - 1) * {processes} + s.process"""),
        ("open tasks (plan)", f"""
            CREATE TEMP TABLE bench_task AS
            SELECT t, i.id AS instance_id, d.agency_id, i.process_key, i.started_at, r.offer, r.claim, r.pick,
                   CASE WHEN r.offer >= 0.04 THEN (d.agency_id - 1) * {per_agency} + 1 + {group_in_agency} END
                       AS group_id,
                   1 + floor(6 * power(random(), 1.5))::int AS element
            FROM generate_series(1, {tasks}) t
            CROSS JOIN LATERAL (SELECT random() + t * 0 AS offer, random() < 0.15 AS claim,
                                       floor(random() * 1000000)::int AS pick) r
            JOIN engine_processinstance i ON i.id = CASE WHEN t <= {instances} THEN t ELSE t - {instances} END
            JOIN processes_processdefinition d ON d.id = i.definition_id"""),
        ("open tasks", f"""
            INSERT INTO engine_humantask (id, instance_id, agency_id, process_key, spiff_task_id, element_id, name,
                                          lane, documentation, status, assignee_id, delegation_state, priority,
                                          due_at, created_at, claimed_at, completion_data, draft_data)
            SELECT b.t, b.instance_id, b.agency_id, b.process_key, gen_random_uuid(), ({element_ids})[b.element],
                   ({element_names})[b.element], coalesce(g.name, CASE WHEN b.offer >= 0.02 THEN 'Petugas' END, ''),
                   '', CASE WHEN m.user_id IS NULL THEN 'ready' ELSE 'claimed' END, m.user_id, '',
                   (ARRAY[50, 50, 50, 50, 50, 50, 80, 80, 20, 50])[1 + floor(random() * 10)::int],
                   CASE WHEN random() < 0.7 THEN c.created_at + interval '1 day' * (3 + 40 * random()) END,
                   c.created_at, CASE WHEN m.user_id IS NOT NULL THEN c.created_at + interval '2 hours' END,
                   '{{}}', '{{}}'
            FROM bench_task b
            CROSS JOIN LATERAL (SELECT b.started_at + (now() - b.started_at) * random() AS created_at) c
            LEFT JOIN engine_agencygroup g ON g.group_id = b.group_id
            LEFT JOIN bench_member m ON b.claim AND m.group_id = b.group_id
                                     AND m.rn = 1 + b.pick % m.members"""),
        # The deadlines that passed have fired (the timer sweep sets ``overdue_at`` when a task falls due).
        ("deadlines passed", f"""
            UPDATE engine_humantask SET overdue_at = due_at WHERE status IN {OPEN} AND due_at < now()"""),
        ("open candidate groups", f"""
            INSERT INTO engine_humantask_candidate_groups (humantask_id, group_id, is_open)
            SELECT t, group_id, true FROM bench_task WHERE group_id IS NOT NULL
            UNION ALL
            SELECT t, 1 + (group_id + {per_agency} * (1 + pick % ({agencies} - 1)) - 1) % {agencies * per_agency}, true
            FROM bench_task WHERE group_id IS NOT NULL AND pick % 100 < 3 AND {agencies} > 1"""),
        ("open candidate users", """
            INSERT INTO engine_humantask_candidate_users (humantask_id, user_id, is_open)
            SELECT b.t, o.user_id, true FROM bench_task b
            JOIN bench_officer o ON o.agency_id = b.agency_id
                                 AND o.rn = 1 + b.pick % o.officers
            WHERE b.offer >= 0.02 AND b.offer < 0.04"""),
        ("open task variables", f"""
            INSERT INTO engine_opentaskvariable (task_id, name, value, created_at, due_at, priority)
            SELECT t.id, v.key, v.value::text, t.created_at, t.due_at, t.priority
            FROM engine_humantask t
            JOIN engine_processinstance i ON i.id = t.instance_id
            CROSS JOIN LATERAL jsonb_each(i.data) v
            WHERE t.status IN {OPEN} AND jsonb_typeof(v.value) IN ('string', 'number', 'boolean', 'null')
              AND length(v.value::text) <= {MAX_VALUE_LENGTH}"""),
        ("closed tasks", f"""
            CREATE TEMP TABLE bench_closed AS
            SELECT {tasks} + c AS t, i.id AS instance_id, d.agency_id, i.process_key, i.started_at,
                   (d.agency_id - 1) * {per_agency} + 1 + {group_in_agency} AS group_id,
                   1 + floor(6 * random())::int AS element, random() < 0.9 AS completed
            FROM generate_series(1, {closed}) c
            JOIN engine_processinstance i ON i.id = {instances} + 1 + (c - 1) % {closed_instances}
            JOIN processes_processdefinition d ON d.id = i.definition_id;
            INSERT INTO engine_humantask (id, instance_id, agency_id, process_key, spiff_task_id, element_id, name,
                                          lane, documentation, status, delegation_state, priority, due_at,
                                          created_at, completed_at, completion_data, draft_data)
            SELECT b.t, b.instance_id, b.agency_id, b.process_key, gen_random_uuid(), ({element_ids})[b.element],
                   ({element_names})[b.element], g.name, '',
                   CASE WHEN b.completed THEN 'completed' ELSE 'cancelled' END, '', 50,
                   b.started_at + interval '20 days', b.started_at, b.started_at + interval '3 days', '{{}}', '{{}}'
            FROM bench_closed b JOIN engine_agencygroup g ON g.group_id = b.group_id;
            INSERT INTO engine_humantask_candidate_groups (humantask_id, group_id, is_open)
            SELECT t, group_id, false FROM bench_closed"""),
        ("sequences", ";".join(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            for table in ("engine_agency", "auth_group", "auth_user", "processes_processdefinition",
                          "engine_processinstance", "engine_humantask")
        )),
    ]


SUMMARY = f"""
    SELECT (SELECT count(*) FROM engine_humantask WHERE status IN {OPEN}) AS open_tasks,
           (SELECT count(*) FROM engine_humantask WHERE status NOT IN {OPEN}) AS closed_tasks,
           (SELECT count(*) FROM engine_humantask WHERE status IN {OPEN} AND due_at < now()) AS overdue,
           (SELECT count(*) FROM engine_humantask_candidate_groups) AS candidate_group_rows,
           (SELECT count(*) FROM engine_humantask_candidate_users) AS candidate_user_rows,
           (SELECT count(*) FROM engine_opentaskvariable) AS open_task_variable_rows,
           (SELECT count(*) FROM engine_processinstance) AS instances,
           (SELECT count(*) FROM auth_user) AS users,
           (SELECT count(*) FROM auth_group) AS groups,
           (SELECT count(*) FROM engine_agency) AS agencies,
           pg_size_pretty(pg_total_relation_size('engine_humantask')) AS task_table_size
"""

# The tables the load fills: their indexes and constraints are set aside while rows go in, then rebuilt.
LOADED_TABLES = [
    "engine_processinstance", "engine_humantask", "engine_humantask_candidate_groups",
    "engine_humantask_candidate_users", "engine_opentaskvariable",
]
