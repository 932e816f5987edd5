//! The end-to-end harness: the emulator (moto plus extension), a ResponseURL listener, a local
//! Lambda Runtime API, and CloudFormation event builders. Tests, the demo and the benchmarks
//! all drive the functions through these.

pub mod emulator;
pub mod events;
pub mod fault_proxy;
pub mod http;
pub mod listener;
pub mod runtime_api;

pub use emulator::{Account, Emulator, emulator};
pub use events::{CfnEvents, invoke_in_process};
pub use fault_proxy::{Fault, FaultProxy};
pub use listener::{RecordedPut, ResponseListener, SECRET_CREDENTIAL, SECRET_SIGNATURE};
pub use runtime_api::{Completion, FunctionProcess, RuntimeApi, binary};
