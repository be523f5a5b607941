--
-- PostgreSQL database dump
--


-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: opal_app_v0; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA opal_app_v0;


--
-- Name: opal_audit_log_append_only(); Type: FUNCTION; Schema: opal_app_v0; Owner: -
--

CREATE FUNCTION opal_app_v0.opal_audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'audit_log is append-only: UPDATE and DELETE are refused (only opal purge removes rows)' USING ERRCODE = 'insufficient_privilege'; END $$;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: audit_log; Type: TABLE; Schema: opal_app_v0; Owner: -
--

CREATE TABLE opal_app_v0.audit_log (
    id integer NOT NULL,
    ts timestamp without time zone NOT NULL,
    username character varying(64),
    role character varying(20),
    action character varying(20) NOT NULL,
    report character varying(10),
    params text,
    format character varying(10),
    row_count integer,
    outcome character varying(10) NOT NULL,
    duration_ms integer,
    data_as_of character varying(10),
    message text,
    client character varying(64)
);


--
-- Name: audit_log_id_seq; Type: SEQUENCE; Schema: opal_app_v0; Owner: -
--

CREATE SEQUENCE opal_app_v0.audit_log_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: audit_log_id_seq; Type: SEQUENCE OWNED BY; Schema: opal_app_v0; Owner: -
--

ALTER SEQUENCE opal_app_v0.audit_log_id_seq OWNED BY opal_app_v0.audit_log.id;


--
-- Name: downloads; Type: TABLE; Schema: opal_app_v0; Owner: -
--

CREATE TABLE opal_app_v0.downloads (
    id integer NOT NULL,
    ts timestamp without time zone NOT NULL,
    username character varying(64) NOT NULL
);


--
-- Name: downloads_id_seq; Type: SEQUENCE; Schema: opal_app_v0; Owner: -
--

CREATE SEQUENCE opal_app_v0.downloads_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: downloads_id_seq; Type: SEQUENCE OWNED BY; Schema: opal_app_v0; Owner: -
--

ALTER SEQUENCE opal_app_v0.downloads_id_seq OWNED BY opal_app_v0.downloads.id;


--
-- Name: login_failures; Type: TABLE; Schema: opal_app_v0; Owner: -
--

CREATE TABLE opal_app_v0.login_failures (
    id integer NOT NULL,
    ts timestamp without time zone NOT NULL,
    username character varying(64),
    address character varying(64)
);


--
-- Name: login_failures_id_seq; Type: SEQUENCE; Schema: opal_app_v0; Owner: -
--

CREATE SEQUENCE opal_app_v0.login_failures_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: login_failures_id_seq; Type: SEQUENCE OWNED BY; Schema: opal_app_v0; Owner: -
--

ALTER SEQUENCE opal_app_v0.login_failures_id_seq OWNED BY opal_app_v0.login_failures.id;


--
-- Name: refresh_runs; Type: TABLE; Schema: opal_app_v0; Owner: -
--

CREATE TABLE opal_app_v0.refresh_runs (
    id integer NOT NULL,
    started_at timestamp without time zone NOT NULL,
    finished_at timestamp without time zone,
    status character varying(10) NOT NULL,
    message text,
    source_dir text,
    as_of character varying(10),
    exported_at character varying(40),
    published_at timestamp without time zone,
    row_counts text,
    pid integer,
    host character varying(255)
);


--
-- Name: refresh_runs_id_seq; Type: SEQUENCE; Schema: opal_app_v0; Owner: -
--

CREATE SEQUENCE opal_app_v0.refresh_runs_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: refresh_runs_id_seq; Type: SEQUENCE OWNED BY; Schema: opal_app_v0; Owner: -
--

ALTER SEQUENCE opal_app_v0.refresh_runs_id_seq OWNED BY opal_app_v0.refresh_runs.id;


--
-- Name: user_sessions; Type: TABLE; Schema: opal_app_v0; Owner: -
--

CREATE TABLE opal_app_v0.user_sessions (
    id character varying(64) NOT NULL,
    user_id integer NOT NULL,
    created_at timestamp without time zone NOT NULL,
    last_seen_at timestamp without time zone NOT NULL,
    role_at_login character varying(20)
);


--
-- Name: users; Type: TABLE; Schema: opal_app_v0; Owner: -
--

CREATE TABLE opal_app_v0.users (
    id integer NOT NULL,
    username character varying(64) NOT NULL,
    password_hash character varying(255),
    role character varying(20),
    staff_id character varying(64),
    team_id character varying(64),
    active boolean NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL
);


--
-- Name: users_id_seq; Type: SEQUENCE; Schema: opal_app_v0; Owner: -
--

CREATE SEQUENCE opal_app_v0.users_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: users_id_seq; Type: SEQUENCE OWNED BY; Schema: opal_app_v0; Owner: -
--

ALTER SEQUENCE opal_app_v0.users_id_seq OWNED BY opal_app_v0.users.id;


--
-- Name: audit_log id; Type: DEFAULT; Schema: opal_app_v0; Owner: -
--

ALTER TABLE ONLY opal_app_v0.audit_log ALTER COLUMN id SET DEFAULT nextval('opal_app_v0.audit_log_id_seq'::regclass);


--
-- Name: downloads id; Type: DEFAULT; Schema: opal_app_v0; Owner: -
--

ALTER TABLE ONLY opal_app_v0.downloads ALTER COLUMN id SET DEFAULT nextval('opal_app_v0.downloads_id_seq'::regclass);


--
-- Name: login_failures id; Type: DEFAULT; Schema: opal_app_v0; Owner: -
--

ALTER TABLE ONLY opal_app_v0.login_failures ALTER COLUMN id SET DEFAULT nextval('opal_app_v0.login_failures_id_seq'::regclass);


--
-- Name: refresh_runs id; Type: DEFAULT; Schema: opal_app_v0; Owner: -
--

ALTER TABLE ONLY opal_app_v0.refresh_runs ALTER COLUMN id SET DEFAULT nextval('opal_app_v0.refresh_runs_id_seq'::regclass);


--
-- Name: users id; Type: DEFAULT; Schema: opal_app_v0; Owner: -
--

ALTER TABLE ONLY opal_app_v0.users ALTER COLUMN id SET DEFAULT nextval('opal_app_v0.users_id_seq'::regclass);


--
-- Data for Name: audit_log; Type: TABLE DATA; Schema: opal_app_v0; Owner: -
--

INSERT INTO opal_app_v0.audit_log VALUES (1, '2026-10-01 08:00:00', 'cm1', 'case_manager', 'run', 'R02', '{"n_days": "90"}', 'csv', 17, 'ok', 12, '2026-09-30', NULL, '127.0.0.1');
INSERT INTO opal_app_v0.audit_log VALUES (2, '2026-10-01 08:01:00', 'cm1', 'case_manager', 'run', 'R03', '{"n_days": "90"}', 'csv', NULL, 'denied', 12, '2026-09-30', NULL, '127.0.0.1');
INSERT INTO opal_app_v0.audit_log VALUES (3, '2026-10-01 08:02:00', 'cm1', 'case_manager', 'run', 'R99', '{"n_days": "90"}', 'csv', NULL, 'invalid', 12, '2026-09-30', NULL, '127.0.0.1');
INSERT INTO opal_app_v0.audit_log VALUES (4, '2026-10-01 08:00:00', 'admin', 'admin', 'login', NULL, NULL, NULL, NULL, 'ok', NULL, NULL, NULL, '127.0.0.1');


--
-- Data for Name: downloads; Type: TABLE DATA; Schema: opal_app_v0; Owner: -
--

INSERT INTO opal_app_v0.downloads VALUES (1, '2026-10-01 08:00:00', 'cm1');


--
-- Data for Name: login_failures; Type: TABLE DATA; Schema: opal_app_v0; Owner: -
--

INSERT INTO opal_app_v0.login_failures VALUES (1, '2026-10-01 08:00:00', 'cm1', '10.0.0.9');


--
-- Data for Name: refresh_runs; Type: TABLE DATA; Schema: opal_app_v0; Owner: -
--

INSERT INTO opal_app_v0.refresh_runs VALUES (1, '2026-10-01 08:00:00', '2026-10-01 08:00:00', 'ok', 'ok', '/srv/export/2026-09-30', '2026-09-30', '2026-10-01T01:30:00Z', '2026-10-01 08:00:00', '{"person": 12345}', 4242, 'opal1');
INSERT INTO opal_app_v0.refresh_runs VALUES (2, '2026-10-01 08:00:00', NULL, 'failed', 'person.csv Zeile 7: Datum ungültig', '/srv/export/bad', NULL, NULL, NULL, NULL, 4243, 'opal1');


--
-- Data for Name: user_sessions; Type: TABLE DATA; Schema: opal_app_v0; Owner: -
--

INSERT INTO opal_app_v0.user_sessions VALUES ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 1, '2026-10-01 08:00:00', '2026-10-01 08:00:00', 'case_manager');


--
-- Data for Name: users; Type: TABLE DATA; Schema: opal_app_v0; Owner: -
--

INSERT INTO opal_app_v0.users VALUES (1, 'cm1', '$argon2id$v=19$m=65536,t=3,p=4$2EqIp5HTAU/hiBjjb4tcuw$wH6Lw7u+D2VetA4E8hPhBU2gYM0C57l6xc9ltynCXd0', 'case_manager', 'S1', NULL, true, '2026-10-01 08:00:00', '2026-10-01 08:00:00');
INSERT INTO opal_app_v0.users VALUES (2, 'tl1', NULL, 'team_lead', NULL, 'T1', true, '2026-10-01 08:00:00', '2026-10-01 08:00:00');
INSERT INTO opal_app_v0.users VALUES (3, 'ctrl', NULL, 'controlling', NULL, NULL, true, '2026-10-01 08:00:00', '2026-10-01 08:00:00');
INSERT INTO opal_app_v0.users VALUES (4, 'admin', '$argon2id$v=19$m=65536,t=3,p=4$nLarXxm6V83MVMBM/umZCA$JPwdxBXJiluvGkxlqOsfGQu5rJK7GN6NWDCFkAuOFms', 'admin', NULL, NULL, true, '2026-10-01 08:00:00', '2026-10-01 08:00:00');
INSERT INTO opal_app_v0.users VALUES (5, 'gone', NULL, 'case_manager', 'S2', NULL, false, '2026-10-01 08:00:00', '2026-10-01 08:00:00');


--
-- Name: audit_log_id_seq; Type: SEQUENCE SET; Schema: opal_app_v0; Owner: -
--

SELECT pg_catalog.setval('opal_app_v0.audit_log_id_seq', 4, true);


--
-- Name: downloads_id_seq; Type: SEQUENCE SET; Schema: opal_app_v0; Owner: -
--

SELECT pg_catalog.setval('opal_app_v0.downloads_id_seq', 1, true);


--
-- Name: login_failures_id_seq; Type: SEQUENCE SET; Schema: opal_app_v0; Owner: -
--

SELECT pg_catalog.setval('opal_app_v0.login_failures_id_seq', 1, true);


--
-- Name: refresh_runs_id_seq; Type: SEQUENCE SET; Schema: opal_app_v0; Owner: -
--

SELECT pg_catalog.setval('opal_app_v0.refresh_runs_id_seq', 2, true);


--
-- Name: users_id_seq; Type: SEQUENCE SET; Schema: opal_app_v0; Owner: -
--

SELECT pg_catalog.setval('opal_app_v0.users_id_seq', 5, true);


--
-- Name: audit_log audit_log_pkey; Type: CONSTRAINT; Schema: opal_app_v0; Owner: -
--

ALTER TABLE ONLY opal_app_v0.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);


--
-- Name: downloads downloads_pkey; Type: CONSTRAINT; Schema: opal_app_v0; Owner: -
--

ALTER TABLE ONLY opal_app_v0.downloads
    ADD CONSTRAINT downloads_pkey PRIMARY KEY (id);


--
-- Name: login_failures login_failures_pkey; Type: CONSTRAINT; Schema: opal_app_v0; Owner: -
--

ALTER TABLE ONLY opal_app_v0.login_failures
    ADD CONSTRAINT login_failures_pkey PRIMARY KEY (id);


--
-- Name: refresh_runs refresh_runs_pkey; Type: CONSTRAINT; Schema: opal_app_v0; Owner: -
--

ALTER TABLE ONLY opal_app_v0.refresh_runs
    ADD CONSTRAINT refresh_runs_pkey PRIMARY KEY (id);


--
-- Name: user_sessions user_sessions_pkey; Type: CONSTRAINT; Schema: opal_app_v0; Owner: -
--

ALTER TABLE ONLY opal_app_v0.user_sessions
    ADD CONSTRAINT user_sessions_pkey PRIMARY KEY (id);


--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: opal_app_v0; Owner: -
--

ALTER TABLE ONLY opal_app_v0.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);


--
-- Name: users users_username_key; Type: CONSTRAINT; Schema: opal_app_v0; Owner: -
--

ALTER TABLE ONLY opal_app_v0.users
    ADD CONSTRAINT users_username_key UNIQUE (username);


--
-- Name: ix_audit_log_ts; Type: INDEX; Schema: opal_app_v0; Owner: -
--

CREATE INDEX ix_audit_log_ts ON opal_app_v0.audit_log USING btree (ts);


--
-- Name: ix_downloads_user; Type: INDEX; Schema: opal_app_v0; Owner: -
--

CREATE INDEX ix_downloads_user ON opal_app_v0.downloads USING btree (username, ts);


--
-- Name: ix_login_failures_addr; Type: INDEX; Schema: opal_app_v0; Owner: -
--

CREATE INDEX ix_login_failures_addr ON opal_app_v0.login_failures USING btree (address, ts);


--
-- Name: ix_login_failures_user; Type: INDEX; Schema: opal_app_v0; Owner: -
--

CREATE INDEX ix_login_failures_user ON opal_app_v0.login_failures USING btree (username, ts);


--
-- Name: ix_user_sessions_user_id; Type: INDEX; Schema: opal_app_v0; Owner: -
--

CREATE INDEX ix_user_sessions_user_id ON opal_app_v0.user_sessions USING btree (user_id);


--
-- Name: audit_log audit_log_append_only; Type: TRIGGER; Schema: opal_app_v0; Owner: -
--

CREATE TRIGGER audit_log_append_only BEFORE DELETE OR UPDATE ON opal_app_v0.audit_log FOR EACH ROW EXECUTE FUNCTION opal_app_v0.opal_audit_log_append_only();


--
-- Name: audit_log audit_log_no_truncate; Type: TRIGGER; Schema: opal_app_v0; Owner: -
--

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON opal_app_v0.audit_log FOR EACH STATEMENT EXECUTE FUNCTION opal_app_v0.opal_audit_log_append_only();


--
-- PostgreSQL database dump complete
--


