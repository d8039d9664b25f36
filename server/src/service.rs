//! The Flight SQL service: every command of the protocol a client uses,
//! mapped onto the engine. Statement tickets carry the SQL itself, so any
//! endpoint can be fetched any number of times and nothing leaks. Callers
//! are authenticated before any method runs (auth.rs); queries run under the
//! server's limits (run.rs).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::ipc::writer::IpcWriteOptions;
use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::metadata::{SqlInfoData, XdbcTypeInfoData};
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionCancelQueryRequest, ActionCancelQueryResult, ActionClosePreparedStatementRequest,
    ActionCreatePreparedStatementRequest, ActionCreatePreparedStatementResult, CommandGetCatalogs,
    CommandGetCrossReference, CommandGetDbSchemas, CommandGetExportedKeys, CommandGetImportedKeys,
    CommandGetPrimaryKeys, CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables,
    CommandGetXdbcTypeInfo, CommandPreparedStatementQuery, CommandPreparedStatementUpdate,
    CommandStatementIngest, CommandStatementQuery, CommandStatementUpdate,
    DoPutPreparedStatementResult, ProstMessageExt, SqlInfo, TicketStatementQuery,
};
use arrow_flight::{
    Action, CancelFlightInfoRequest, CancelFlightInfoResult, CancelStatus, FlightDescriptor,
    FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse, IpcMessage, SchemaAsIpc,
    Ticket,
};
use bytes::Bytes;
use datafusion::common::{DataFusionError, ParamValues, ScalarValue};
use datafusion::logical_expr::LogicalPlan;
use futures::{Stream, TryStreamExt, stream};
use genoflight_catalog::CATALOG;
use prost::Message;
use tonic::{Request, Response, Status, Streaming};

use crate::auth::Caller;
use crate::metadata;
use crate::queries::Outcome;
use crate::state::ServerState;

type DoGetStream =
    Pin<Box<dyn Stream<Item = Result<arrow_flight::FlightData, Status>> + Send + 'static>>;
type DoActionStream =
    Pin<Box<dyn Stream<Item = Result<arrow_flight::Result, Status>> + Send + 'static>>;

/// Maps an engine error to the gRPC status a client sees; the message is
/// DataFusion's, which names the table, column, file or line at fault.
pub fn status(e: DataFusionError) -> Status {
    let message = e.strip_backtrace();
    match e.find_root() {
        DataFusionError::SQL(..) | DataFusionError::Plan(_) | DataFusionError::SchemaError(..) => {
            Status::invalid_argument(message)
        }
        DataFusionError::NotImplemented(_) => Status::unimplemented(message),
        DataFusionError::ResourcesExhausted(_) => Status::resource_exhausted(message),
        _ => Status::internal(message),
    }
}

/// Prepared statements idle this long are dropped: the JDBC driver does not
/// always close the statements it prepares.
const PREPARED_IDLE: Duration = Duration::from_secs(3600);

/// A prepared statement: its plan, with placeholders, and the bound values.
struct Prepared {
    sql: String,
    plan: LogicalPlan,
    parameters: Vec<(String, Option<DataType>)>,
    bound: Option<Vec<ScalarValue>>,
    last_used: Instant,
}

impl Prepared {
    fn bound_plan(&self) -> Result<LogicalPlan, Status> {
        if self.parameters.is_empty() {
            return Ok(self.plan.clone());
        }
        let values = self.bound.clone().ok_or_else(|| {
            Status::invalid_argument(format!(
                "the prepared statement has {} parameter(s) but none were bound",
                self.parameters.len()
            ))
        })?;
        self.plan
            .clone()
            .with_param_values(ParamValues::List(
                values.into_iter().map(Into::into).collect(),
            ))
            .map_err(status)
    }
}

pub struct GenoflightService {
    state: Arc<ServerState>,
    sql_info: SqlInfoData,
    xdbc: XdbcTypeInfoData,
    prepared: std::sync::Mutex<HashMap<Bytes, Prepared>>,
}

fn ipc_schema(schema: &Schema) -> Result<Bytes, Status> {
    let IpcMessage(bytes) = SchemaAsIpc::new(schema, &IpcWriteOptions::default())
        .try_into()
        .map_err(|e: arrow::error::ArrowError| {
            Status::internal(format!("cannot encode schema: {e}"))
        })?;
    Ok(bytes)
}

fn flight_info(
    schema: &Schema,
    ticket: Vec<u8>,
    descriptor: FlightDescriptor,
) -> Result<Response<FlightInfo>, Status> {
    let info = FlightInfo::new()
        .try_with_schema(schema)
        .map_err(|e| Status::internal(format!("cannot encode schema: {e}")))?
        .with_endpoint(FlightEndpoint::new().with_ticket(Ticket::new(ticket)))
        .with_descriptor(descriptor);
    Ok(Response::new(info))
}

/// One metadata batch as a DoGet stream.
fn batch_stream(
    schema: SchemaRef,
    batch: Result<RecordBatch, FlightError>,
) -> Response<DoGetStream> {
    let batches = stream::once(async move { batch });
    let flight = FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .build(batches)
        .map_err(Status::from);
    Response::new(Box::pin(flight))
}

impl GenoflightService {
    pub fn new(state: Arc<ServerState>) -> GenoflightService {
        GenoflightService {
            state,
            sql_info: metadata::sql_info(),
            xdbc: metadata::xdbc_type_info(),
            prepared: Default::default(),
        }
    }

    /// Plans a client statement; a refusal is recorded as a failed query.
    async fn plan(&self, user: Arc<str>, sql: &str) -> Result<LogicalPlan, Status> {
        self.state.engine().plan(sql).await.map_err(|e| {
            let status = status(e);
            let guard = self.state.registry.start(user, sql.to_string(), None);
            guard
                .query
                .finish(Outcome::Error, Some(status.message().to_string()));
            status
        })
    }

    /// Runs a query for DoGet `ticket` (cancellable through it).
    async fn run_query(
        &self,
        user: Arc<str>,
        sql: String,
        ticket: Bytes,
        plan: Option<LogicalPlan>,
    ) -> Result<Response<DoGetStream>, Status> {
        let guard = self.state.registry.start(user, sql, Some(ticket));
        let stream = crate::run::run(&self.state, guard, plan).await?;
        Ok(Response::new(stream))
    }

    /// Runs `f` on a live prepared statement, marking it used.
    fn with_prepared<T>(
        &self,
        handle: &Bytes,
        f: impl FnOnce(&mut Prepared) -> Result<T, Status>,
    ) -> Result<T, Status> {
        let mut prepared = self.prepared.lock().unwrap();
        let p = prepared
            .get_mut(handle)
            .ok_or_else(|| Status::not_found("unknown, closed or expired prepared statement"))?;
        p.last_used = Instant::now();
        f(p)
    }

    fn cancel_tickets<'a>(&self, tickets: impl Iterator<Item = &'a Bytes>) -> bool {
        let mut any = false;
        for t in tickets {
            any |= self.state.registry.cancel_ticket(t);
        }
        any
    }

    async fn tables_batch(
        &self,
        query: CommandGetTables,
    ) -> Result<(SchemaRef, Result<RecordBatch, FlightError>), Status> {
        let include_schema = query.include_schema;
        let mut builder = query.into_builder();
        let engine = self.state.engine();
        let ctx = engine.context();
        if let Some(catalog) = ctx.catalog(CATALOG) {
            let mut schemas = catalog.schema_names();
            schemas.sort();
            for schema_name in schemas {
                let Some(schema) = catalog.schema(&schema_name) else {
                    continue;
                };
                let mut names = schema.table_names();
                names.sort();
                for name in names {
                    let Ok(Some(table)) = schema.table(&name).await else {
                        continue;
                    };
                    let kind = match table.table_type() {
                        datafusion::datasource::TableType::View => "VIEW",
                        datafusion::datasource::TableType::Temporary => "LOCAL TEMPORARY",
                        datafusion::datasource::TableType::Base => "TABLE",
                    };
                    let table_schema = if include_schema {
                        crate::wire::wire_schema(&table.schema())
                    } else {
                        Arc::new(Schema::empty())
                    };
                    builder
                        .append(CATALOG, &schema_name, &name, kind, &table_schema)
                        .map_err(|e| Status::internal(e.to_string()))?;
                }
            }
        }
        Ok((builder.schema(), builder.build()))
    }
}

fn empty_keys(schema: SchemaRef) -> Response<DoGetStream> {
    let batch = RecordBatch::new_empty(schema.clone());
    batch_stream(schema, Ok(batch))
}

/// The first row of the bound parameter batches, cast to the planned types.
fn parameter_values(
    batches: &[RecordBatch],
    parameters: &[(String, Option<DataType>)],
) -> Result<Vec<ScalarValue>, Status> {
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Err(Status::invalid_argument("no parameter values were sent"));
    };
    if batch.num_columns() != parameters.len() {
        return Err(Status::invalid_argument(format!(
            "the statement has {} parameter(s) but {} value(s) were bound",
            parameters.len(),
            batch.num_columns()
        )));
    }
    batch
        .columns()
        .iter()
        .zip(parameters)
        .map(|(column, (name, ty))| {
            let value = ScalarValue::try_from_array(column, 0).map_err(status)?;
            match ty {
                Some(ty) if value.data_type() != *ty => value.cast_to(ty).map_err(|e| {
                    Status::invalid_argument(format!("parameter {name}: {}", e.strip_backtrace()))
                }),
                _ => Ok(value),
            }
        })
        .collect()
}

#[tonic::async_trait]
impl FlightSqlService for GenoflightService {
    type FlightService = GenoflightService;

    /// The caller was authenticated by the interceptor (Basic credentials);
    /// the answer carries a bearer token for the calls that follow, both as
    /// the `authorization` header and as the payload. Without users too:
    /// clients given credentials anyway (ADBC, JDBC) require the header.
    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<
        Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>>,
        Status,
    > {
        let token = self.state.auth.issue(Caller::of(&request));
        let response = HandshakeResponse {
            protocol_version: 0,
            payload: Bytes::from(token.clone()),
        };
        let mut response = Response::new(Box::pin(stream::once(async { Ok(response) }))
            as Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>);
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| Status::internal("cannot encode the bearer token"))?;
        response.metadata_mut().insert("authorization", value);
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let plan = self.plan(Caller::of(&request), &query.query).await?;
        if !plan.get_parameter_types().map_err(status)?.is_empty() {
            return Err(Status::invalid_argument(
                "statements with parameters must be prepared",
            ));
        }
        let ticket = TicketStatementQuery {
            statement_handle: query.query.into(),
        };
        flight_info(
            &self.state.engine().output_schema(&plan),
            ticket.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn get_flight_info_prepared_statement(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let plan = self.with_prepared(&cmd.prepared_statement_handle, |p| p.bound_plan())?;
        let schema = self.state.engine().output_schema(&plan);
        flight_info(&schema, cmd.as_any().encode_to_vec(), request.into_inner())
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder().schema();
        flight_info(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder().schema();
        flight_info(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder().schema();
        flight_info(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder().schema();
        flight_info(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder(&self.sql_info).schema();
        flight_info(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn get_flight_info_primary_keys(
        &self,
        query: CommandGetPrimaryKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        flight_info(
            &metadata::primary_keys_schema(),
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn get_flight_info_exported_keys(
        &self,
        query: CommandGetExportedKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        flight_info(
            &metadata::foreign_keys_schema(),
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn get_flight_info_imported_keys(
        &self,
        query: CommandGetImportedKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        flight_info(
            &metadata::foreign_keys_schema(),
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn get_flight_info_cross_reference(
        &self,
        query: CommandGetCrossReference,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        flight_info(
            &metadata::foreign_keys_schema(),
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn get_flight_info_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder(&self.xdbc).schema();
        flight_info(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let sql = String::from_utf8(ticket.statement_handle.to_vec())
            .map_err(|_| Status::invalid_argument("statement ticket is not UTF-8"))?;
        let user = Caller::of(&request);
        self.run_query(user, sql, request.into_inner().ticket, None)
            .await
    }

    async fn do_get_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let (sql, plan) = self.with_prepared(&query.prepared_statement_handle, |p| {
            Ok((p.sql.clone(), p.bound_plan()?))
        })?;
        let user = Caller::of(&request);
        self.run_query(user, sql, request.into_inner().ticket, Some(plan))
            .await
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let mut builder = query.into_builder();
        builder.append(CATALOG);
        Ok(batch_stream(builder.schema(), builder.build()))
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let mut builder = query.into_builder();
        if let Some(catalog) = self.state.engine().context().catalog(CATALOG) {
            let mut names = catalog.schema_names();
            names.sort();
            for name in names {
                builder.append(CATALOG, name);
            }
        }
        Ok(batch_stream(builder.schema(), builder.build()))
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let (schema, batch) = self.tables_batch(query).await?;
        Ok(batch_stream(schema, batch))
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let mut builder = query.into_builder();
        builder.append("TABLE");
        builder.append("VIEW");
        Ok(batch_stream(builder.schema(), builder.build()))
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let builder = query.into_builder(&self.sql_info);
        Ok(batch_stream(builder.schema(), builder.build()))
    }

    async fn do_get_primary_keys(
        &self,
        _query: CommandGetPrimaryKeys,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        Ok(empty_keys(metadata::primary_keys_schema()))
    }

    async fn do_get_exported_keys(
        &self,
        _query: CommandGetExportedKeys,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        Ok(empty_keys(metadata::foreign_keys_schema()))
    }

    async fn do_get_imported_keys(
        &self,
        _query: CommandGetImportedKeys,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        Ok(empty_keys(metadata::foreign_keys_schema()))
    }

    async fn do_get_cross_reference(
        &self,
        _query: CommandGetCrossReference,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        Ok(empty_keys(metadata::foreign_keys_schema()))
    }

    async fn do_get_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let builder = query.into_builder(&self.xdbc);
        Ok(batch_stream(builder.schema(), builder.build()))
    }

    async fn do_put_statement_update(
        &self,
        _ticket: CommandStatementUpdate,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(Status::permission_denied(
            "genoflight is read-only: updates are not allowed",
        ))
    }

    async fn do_put_statement_ingest(
        &self,
        _ticket: CommandStatementIngest,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(Status::permission_denied(
            "genoflight is read-only: ingestion is not allowed",
        ))
    }

    async fn do_put_prepared_statement_update(
        &self,
        _query: CommandPreparedStatementUpdate,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(Status::permission_denied(
            "genoflight is read-only: updates are not allowed",
        ))
    }

    async fn do_put_prepared_statement_query(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        let handle = query.prepared_statement_handle;
        let parameters = self.with_prepared(&handle, |p| Ok(p.parameters.clone()))?;
        let flight = request.into_inner().map_err(FlightError::from);
        let batches: Vec<RecordBatch> = FlightRecordBatchStream::new_from_flight_data(flight)
            .try_collect()
            .await
            .map_err(Status::from)?;
        let values = parameter_values(&batches, &parameters)?;
        self.with_prepared(&handle, |p| {
            p.bound = Some(values);
            Ok(())
        })?;
        Ok(DoPutPreparedStatementResult {
            prepared_statement_handle: Some(handle),
        })
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let plan = self.plan(Caller::of(&request), &query.query).await?;
        let mut parameters: Vec<(String, Option<DataType>)> = plan
            .get_parameter_types()
            .map_err(status)?
            .into_iter()
            .collect();
        // `$10` after `$9`: order by the number, not the text.
        parameters.sort_by_key(|(name, _)| {
            name.trim_start_matches('$')
                .parse::<usize>()
                .unwrap_or(usize::MAX)
        });
        let parameter_schema = Schema::new(
            parameters
                .iter()
                .map(|(name, ty)| Field::new(name, ty.clone().unwrap_or(DataType::Utf8), true))
                .collect::<Vec<_>>(),
        );
        let dataset_schema = self.state.engine().output_schema(&plan);
        let handle = Bytes::from(uuid::Uuid::new_v4().to_string());
        let mut prepared = self.prepared.lock().unwrap();
        prepared.retain(|_, p| p.last_used.elapsed() < PREPARED_IDLE);
        prepared.insert(
            handle.clone(),
            Prepared {
                sql: query.query,
                plan,
                parameters,
                bound: None,
                last_used: Instant::now(),
            },
        );
        drop(prepared);
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: handle,
            dataset_schema: ipc_schema(&dataset_schema)?,
            parameter_schema: ipc_schema(&parameter_schema)?,
        })
    }

    async fn do_action_close_prepared_statement(
        &self,
        query: ActionClosePreparedStatementRequest,
        _request: Request<Action>,
    ) -> Result<(), Status> {
        self.prepared
            .lock()
            .unwrap()
            .remove(&query.prepared_statement_handle);
        Ok(())
    }

    async fn do_action_cancel_query(
        &self,
        query: ActionCancelQueryRequest,
        _request: Request<Action>,
    ) -> Result<ActionCancelQueryResult, Status> {
        let info =
            FlightInfo::decode(query.info).map_err(|e| Status::invalid_argument(e.to_string()))?;
        let tickets: Vec<Bytes> = info
            .endpoint
            .iter()
            .filter_map(|e| e.ticket.as_ref().map(|t| t.ticket.clone()))
            .collect();
        let cancelled = self.cancel_tickets(tickets.iter());
        // 1 = CANCEL_RESULT_CANCELLED, 3 = CANCEL_RESULT_NOT_CANCELLABLE.
        Ok(ActionCancelQueryResult {
            result: if cancelled { 1 } else { 3 },
        })
    }

    async fn do_action_fallback(
        &self,
        request: Request<Action>,
    ) -> Result<Response<<Self as FlightService>::DoActionStream>, Status> {
        let action = request.into_inner();
        if action.r#type != "CancelFlightInfo" {
            return Err(Status::invalid_argument(format!(
                "unknown action {:?}",
                action.r#type
            )));
        }
        let cancel = CancelFlightInfoRequest::decode(action.body)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let tickets: Vec<Bytes> = cancel
            .info
            .iter()
            .flat_map(|i| i.endpoint.iter())
            .filter_map(|e| e.ticket.as_ref().map(|t| t.ticket.clone()))
            .collect();
        let status = if self.cancel_tickets(tickets.iter()) {
            CancelStatus::Cancelled
        } else {
            CancelStatus::NotCancellable
        };
        let result = CancelFlightInfoResult::new(status);
        let body = arrow_flight::Result {
            body: result.encode_to_vec().into(),
        };
        let out: DoActionStream = Box::pin(stream::once(async { Ok(body) }));
        Ok(Response::new(out))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}
