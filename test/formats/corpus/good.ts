/** Not malformed: one valid record of each format, as the real producers write them (shared by format and tail tests). */

export const MAXWELL_INSERT =
  '{"database":"gmall","table":"order_info","type":"insert","ts":1736821234,"xid":8812,"xoffset":0,"data":{"id":935,"order_status":"1001","total_amount":1299.00,"user_id":7,"create_time":"2025-01-14 10:20:34","operate_time":null}}';
export const MAXWELL_UPDATE =
  '{"database":"gmall","table":"order_info","type":"update","ts":1736821240,"xid":8813,"commit":true,"data":{"id":935,"order_status":"1002","total_amount":1299.00,"user_id":7,"create_time":"2025-01-14 10:20:34","operate_time":"2025-01-14 10:20:40"},"old":{"order_status":"1001","operate_time":null}}';
export const MAXWELL_DELETE =
  '{"database":"gmall","table":"cart_info","type":"delete","ts":1736821250,"xid":8814,"commit":true,"data":{"id":12,"user_id":"7","sku_id":3}}';
export const MAXWELL_BOOTSTRAP_START = '{"database":"gmall","table":"base_province","type":"bootstrap-start","ts":1736821260,"data":{}}';
export const MAXWELL_BOOTSTRAP_INSERT =
  '{"database":"gmall","table":"base_province","type":"bootstrap-insert","ts":1736821260,"data":{"id":1,"name":"北京","region_id":"1","area_code":"110000","iso_code":"CN-11","iso_3166_2":"CN-BJ"}}';
export const MAXWELL_DDL =
  '{"type":"table-alter","database":"gmall","table":"user_info","old":{"database":"gmall","charset":"utf8mb4","table":"user_info","columns":[]},"def":{"database":"gmall","charset":"utf8mb4","table":"user_info","columns":[]},"ts":1736821270000,"sql":"ALTER TABLE user_info ADD COLUMN x INT"}';

export const DEBEZIUM_CREATE =
  '{"before":null,"after":{"id":1,"name":"北京","region_id":"1"},"source":{"version":"1.9.8.Final","connector":"mysql","name":"mysql_binlog_source","ts_ms":1736821234000,"snapshot":"false","db":"gmall","sequence":null,"table":"base_province","server_id":1,"gtid":null,"file":"mysql-bin.000003","pos":1234,"row":0,"thread":null,"query":null},"op":"c","ts_ms":1736821234567,"transaction":null}';
export const DEBEZIUM_UPDATE =
  '{"before":{"id":935,"order_status":"1001"},"after":{"id":935,"order_status":"1002"},"source":{"version":"1.9.8.Final","connector":"mysql","name":"mysql_binlog_source","ts_ms":1736821240000,"snapshot":"false","db":"gmall","table":"order_info","server_id":1,"file":"mysql-bin.000003","pos":2345,"row":0},"op":"u","ts_ms":1736821240123,"transaction":null}';
export const DEBEZIUM_DELETE =
  '{"before":{"id":12,"sku_id":3},"after":null,"source":{"version":"1.9.8.Final","connector":"mysql","name":"x","ts_ms":1736821250000,"snapshot":"false","db":"gmall","table":"cart_info","server_id":1,"file":"mysql-bin.000003","pos":3456,"row":0},"op":"d","ts_ms":1736821250123,"transaction":null}';
export const DEBEZIUM_SNAPSHOT =
  '{"before":null,"after":{"id":2,"name":"天津"},"source":{"version":"1.9.8.Final","connector":"mysql","name":"x","ts_ms":0,"snapshot":"true","db":"gmall","table":"base_province","server_id":0,"file":"","pos":0,"row":0},"op":"r","ts_ms":1736821260123,"transaction":null}';
export const DEBEZIUM_WRAPPED = `{"schema":{"type":"struct","fields":[],"optional":false,"name":"mysql_binlog_source.gmall.base_province.Envelope"},"payload":${DEBEZIUM_CREATE}}`;

export const CANAL_INSERT =
  '{"data":[{"id":"1","name":"北京","region_id":"1"},{"id":"2","name":"天津","region_id":"1"}],"database":"gmall","es":1736821234000,"id":7,"isDdl":false,"mysqlType":{"id":"bigint(20)","name":"varchar(20)","region_id":"varchar(20)"},"old":null,"pkNames":["id"],"sql":"","sqlType":{"id":-5,"name":12,"region_id":12},"table":"base_province","ts":1736821234567,"type":"INSERT"}';
export const CANAL_UPDATE =
  '{"data":[{"id":"935","order_status":"1002"}],"database":"gmall","es":1736821240000,"id":8,"isDdl":false,"mysqlType":{"id":"bigint(20)","order_status":"varchar(20)"},"old":[{"order_status":"1001"}],"pkNames":["id"],"sql":"","sqlType":{"id":-5,"order_status":12},"table":"order_info","ts":1736821240567,"type":"UPDATE"}';
export const CANAL_DDL =
  '{"data":null,"database":"gmall","es":1736821270000,"id":9,"isDdl":true,"mysqlType":null,"old":null,"pkNames":null,"sql":"ALTER TABLE user_info ADD COLUMN x INT","sqlType":null,"table":"user_info","ts":1736821270567,"type":"ALTER"}';

export const APPLOG_START =
  '{"common":{"ar":"110000","ba":"iPhone","ch":"Appstore","is_new":"1","md":"iPhone X","mid":"mid_8","os":"iOS 13.2.3","uid":"27","vc":"v2.1.134"},"start":{"entry":"icon","loading_time":5151,"open_ad_id":11,"open_ad_ms":6184,"open_ad_skip_ms":5848},"ts":1736821234000}';
export const APPLOG_PAGE =
  '{"common":{"ar":"310000","ba":"Xiaomi","ch":"xiaomi","is_new":"0","md":"Xiaomi 9","mid":"mid_11","os":"Android 8.1","uid":"40","vc":"v2.1.134"},"page":{"during_time":10267,"item":"1,2,9","item_type":"sku_ids","last_page_id":"cart","page_id":"trade"},"ts":1736821235000}';

/** Big numbers that a double cannot hold: they must come out of every path digit for digit. */
export const BIG_NUMBERS =
  '{"database":"gmall","table":"big_numbers","type":"insert","ts":1736821234,"xid":1,"commit":true,"data":{"id":9007199254740993,"u64":18446744073709551615,"amount":123456789012345678901234.123456789,"tiny":0.000000000000000000000000000001,"neg":-9007199254740993}}';

/** A Maxwell record with the wrong database, for the ETL. */
export function withDatabase(record: string, db: string): string {
  return record.replace('"database":"gmall"', `"database":${JSON.stringify(db)}`);
}
