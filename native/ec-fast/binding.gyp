{
  "targets": [
    {
      "target_name": "ec_fast",
      "sources": ["ec_fast.c"],
      "cflags": ["-O2", "-Wall", "-Wno-deprecated-declarations"]
    }
  ]
}
