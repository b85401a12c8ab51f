/**
 * mysql: key words (MariaDB 10.11 information_schema.KEYWORDS, lower case; MySQL's reserved
 * words are among them): a name spelled like one is quoted where the server writes SQL.
 */
export const KEYWORDS: ReadonlySet<string> = new Set(`
  accessible account action add admin after against aggregate algorithm all alter always analyze and any as asc ascii
  asensitive at atomic authors auto autoextend_size auto_increment avg avg_row_length backup before begin between
  bigint binary binlog bit blob block body bool boolean both btree by byte cache call cascade cascaded case
  catalog_name chain change changed channel char character charset check checkpoint checksum cipher class_origin
  client clob close coalesce code collate collation column columns column_add column_check column_create column_delete
  column_get column_name comment commit committed compact completion compressed concurrent condition connection
  consistent constraint constraint_catalog constraint_name constraint_schema contains context continue contributors
  convert cpu create cross cube current current_date current_pos current_role current_time current_timestamp
  current_user cursor cursor_name cycle data database databases datafile date datetime day day_hour day_microsecond
  day_minute day_second deallocate dec decimal declare default definer delayed delay_key_write delete delete_domain_id
  desc describe des_key_file deterministic diagnostics directory disable discard disk distinct distinctrow div do
  double do_domain_ids drop dual dumpfile duplicate dynamic each else elseif elsif empty enable enclosed end ends
  engine engines enum error errors escape escaped event events every examined except exception exchange exclude
  execute exists exit expansion expire explain export extended extent_size false fast faults federated fetch fields
  file first fixed float float4 float8 flush following follows for force foreign format found from full fulltext
  function general generated get get_format global goto grant grants group handler hard hash having help high_priority
  history host hosts hour hour_microsecond hour_minute hour_second id identified if ignore ignored ignore_domain_ids
  ignore_server_ids immediate import in increment index indexes infile initial_size inner inout insensitive insert
  insert_method install int int1 int2 int3 int4 int8 integer intersect interval into invisible invoker io io_thread
  ipc is isolation isopen issuer iterate join json json_table key keys key_block_size kill language last lastval
  last_value leading leave leaves left less level like limit linear lines list load local localtime localtimestamp
  lock locked locks logfile logs long longblob longtext loop low_priority master master_connect_retry master_delay
  master_demote_to_replica master_demote_to_slave master_gtid_pos master_heartbeat_period master_host master_log_file
  master_log_pos master_password master_port master_server_id master_ssl master_ssl_ca master_ssl_capath
  master_ssl_cert master_ssl_cipher master_ssl_crl master_ssl_crlpath master_ssl_key master_ssl_verify_server_cert
  master_user master_use_gtid match maxvalue max_connections_per_hour max_queries_per_hour max_rows max_size
  max_statement_time max_updates_per_hour max_user_connections medium mediumblob mediumint mediumtext memory merge
  message_text microsecond middleint migrate minus minute minute_microsecond minute_second minvalue min_rows mod mode
  modifies modify monitor month mutex mysql mysql_errno name names national natural nchar nested never next nextval no
  nocache nocycle nodegroup nomaxvalue nominvalue none not notfound nowait no_wait no_write_to_binlog null number
  numeric nvarchar of offset old_password on one online only open optimize option optionally options or order
  ordinality others out outer outfile over overlaps owner package pack_keys page page_checksum parser parse_vcol_expr
  partial partition partitioning partitions password path period persistent phase plugin plugins port portion precedes
  preceding precision prepare preserve prev previous primary privileges procedure process processlist profile profiles
  proxy purge quarter query quick raise range raw read reads read_only read_write real rebuild recover recursive
  redofile redo_buffer_size redundant references ref_system_id regexp relay relaylog relay_log_file relay_log_pos
  relay_thread release reload remove rename reorganize repair repeat repeatable replace replay replica replicas
  replication replica_pos require reset resignal restart restore restrict resume return returned_sqlstate returning
  returns reuse reverse revoke right rlike role rollback rollup routine row rowcount rownum rows rowtype row_count
  row_format row_number rtree savepoint schedule schema schemas schema_name second second_microsecond security select
  sensitive separator sequence serial serializable server session set setval share show shutdown signal signed simple
  skip slave slaves slave_pos slow smallint snapshot socket soft some soname sounds source spatial specific sql
  sqlexception sqlstate sqlwarning sql_big_result sql_buffer_result sql_cache sql_calc_found_rows sql_no_cache
  sql_small_result sql_thread sql_tsi_day sql_tsi_hour sql_tsi_minute sql_tsi_month sql_tsi_quarter sql_tsi_second
  sql_tsi_week sql_tsi_year ssl stage start starting starts statement stats_auto_recalc stats_persistent
  stats_sample_pages status stop storage stored straight_join string subclass_origin subject subpartition
  subpartitions super suspend swaps switches sysdate system system_time table tables tablespace table_checksum
  table_name temporary temptable terminated text than then threads ties time timestamp timestampadd timestampdiff
  tinyblob tinyint tinytext to trailing transaction transactional trigger triggers true truncate type unbounded
  uncommitted undefined undo undofile undo_buffer_size unicode uninstall union unique unknown unlock unsigned until
  update upgrade usage use user user_resources use_frm using utc_date utc_time utc_timestamp value values varbinary
  varchar varchar2 varcharacter variables varying versioning via view virtual visible wait warnings week weight_string
  when where while window with within without work wrapper write x509 xa xml xor year year_month zerofill
`.split(/\s+/).filter(Boolean));
