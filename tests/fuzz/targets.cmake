# The fuzz targets, one file tests/fuzz/fuzz_<name>.cpp each, seeds in
# tests/fuzz/corpus/<name>/. Read by tests/fuzz/CMakeLists.txt (libFuzzer
# build) and tests/CMakeLists.txt (fuzz_seeds, the seeds in the normal build).
set(FIELDGATE_FUZZ_TARGETS
    config framer serial_parser checksum escape modbus_codec modbus_plan topic_template units
    broker_address command modbus_request sparkplug sunspec)
