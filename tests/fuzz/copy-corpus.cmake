# qremap - tests/fuzz/copy-corpus.cmake: fresh working corpus for a fuzzer's CTest run
#
#   cmake -DDEST=dir -DSEEDS="seed-dir|seed-dir..." -DARTIFACTS=dir -P copy-corpus.cmake
#
# libFuzzer adds inputs to the first corpus directory it is given; running it
# on this copy keeps the seeds in the source tree as they are, and starts
# every run from the same seeds.
foreach(v DEST SEEDS ARTIFACTS)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "copy-corpus.cmake: -D${v}=... missing")
  endif()
endforeach()
string(REPLACE "|" ";" SEEDS "${SEEDS}")
file(REMOVE_RECURSE ${DEST})
file(MAKE_DIRECTORY ${DEST} ${ARTIFACTS})
foreach(d ${SEEDS})
  file(GLOB files ${d}/*)
  file(COPY ${files} DESTINATION ${DEST})
endforeach()
