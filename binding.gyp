# Native engine for faceverloss. Built by `npm install` (scripts/build-native.mjs runs node-gyp).
#
# The shipped build targets the baseline of each architecture and picks a micro-kernel at run time, so
# one binary runs on any x86-64 CPU. The AVX2 and AVX-512 kernels live in their own translation units,
# compiled as small static libraries with per-target ISA flags; nothing else is compiled with them.
{
  'variables': {
    'fvl_mpi%': '<!(node scripts/mpi-config.mjs available)',
  },
  'target_defaults': {
    # -fno-trapping-math lets the compiler turn selects between computed values into vector blends
    # (no program here reads floating-point exception flags); it changes no result.
    'cflags_cc': ['-O3', '-fno-math-errno', '-fno-trapping-math', '-fPIC'],
    'cflags': ['-O3', '-fPIC'],
    'xcode_settings': {
      'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
      'GCC_OPTIMIZATION_LEVEL': '3',
    },
    'msvs_settings': {
      'VCCLCompilerTool': {'AdditionalOptions': ['/std:c++17', '/O2']},
    },
  },
  'targets': [
    {
      'target_name': 'faceverloss',
      'sources': [
        'native/src/addon.cc',
        'native/src/conv.cc',
        'native/src/conv_scalar.cc',
        'native/src/cpu.cc',
        'native/src/elementwise.cc',
        'native/src/elementwise_binding.cc',
        'native/src/gemm.cc',
        'native/src/huge_pages.cc',
        'native/src/kernels_scalar.cc',
        'native/src/margin.cc',
        'native/src/margin_binding.cc',
        'native/src/margin_norm.cc',
        'native/src/margin_simd.cc',
        'native/src/memory_tuning.cc',
        'native/src/nn_binding.cc',
        'native/src/nn_kernels.cc',
        'native/src/pool_loops_scalar.cc',
        'native/src/sharded_margin.cc',
        'native/src/sharded_margin_binding.cc',
        'native/src/span_loops_scalar.cc',
        'native/src/margin_simd_avx2.cc',
        'native/src/threadpool.cc',
      ],
      'dependencies': [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
      ],
      'defines': ['NAPI_VERSION=8', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
      # Every product and sum of the baseline code is rounded on its own, as TF.js rounds it (the
      # momentum update must match it to the bit). x86-64's baseline has no fused multiply-add anyway;
      # other architectures' baselines do, and GCC would fuse.
      'cflags_cc': ['-ffp-contract=off'],
      'xcode_settings': {'OTHER_CPLUSPLUSFLAGS': ['-ffp-contract=off']},
      'conditions': [
        ['target_arch=="x64"', {'dependencies': ['fvl_kernels_avx2', 'fvl_kernels_avx512', 'fvl_spans_avx2', 'fvl_spans_avx512']}],
        ['OS=="linux"', {'libraries': ['-lpthread']}],
      ],
    },
  ],
  'conditions': [
    # The MPI collectives of a model-parallel head, as a second addon built only when pkg-config finds
    # Open MPI or MPICH (scripts/mpi-config.mjs; FACEVERLOSS_MPI=0 skips it). Without MPI nothing else changes.
    ['fvl_mpi==1', {
      'targets': [
        {
          'target_name': 'faceverloss_mpi',
          'sources': ['native/src/mpi_binding.cc'],
          # The C API only: MPI's deprecated C++ bindings would need libmpi_cxx at load time.
          'defines': [
            'NAPI_VERSION=8',
            'NODE_ADDON_API_DISABLE_DEPRECATED',
            'OMPI_SKIP_MPICXX=1',
            'MPICH_SKIP_MPICXX=1',
          ],
          'cflags_cc': ['<!@(node scripts/mpi-config.mjs cflags)'],
          'libraries': ['<!@(node scripts/mpi-config.mjs libs)', '-ldl'],
          'dependencies': [
            "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
          ],
        },
      ],
    }],
    ['target_arch=="x64"', {
      'targets': [
        {
          'target_name': 'fvl_kernels_avx2',
          'type': 'static_library',
          'sources': ['native/src/kernels_avx2.cc', 'native/src/conv_avx2.cc'],
          'cflags_cc': ['-mavx2', '-mfma'],
          'xcode_settings': {'OTHER_CPLUSPLUSFLAGS': ['-mavx2', '-mfma']},
          'msvs_settings': {'VCCLCompilerTool': {'EnableEnhancedInstructionSet': '5'}},  # /arch:AVX2
        },
        {
          'target_name': 'fvl_kernels_avx512',
          'type': 'static_library',
          'sources': ['native/src/kernels_avx512.cc', 'native/src/conv_avx512.cc'],
          'cflags_cc': ['-mavx512f', '-mfma'],
          'xcode_settings': {'OTHER_CPLUSPLUSFLAGS': ['-mavx512f', '-mfma']},
          'msvs_settings': {'VCCLCompilerTool': {'AdditionalOptions': ['/arch:AVX512']}},
        },
        # The span and pooling loops of the layer kernels (span_loops.h, pool_loops.h): plain loops the
        # compiler vectorises, with no multiply-add fused (-ffp-contract=off), so that every level gives
        # the same bits.
        {
          'target_name': 'fvl_spans_avx2',
          'type': 'static_library',
          'sources': ['native/src/span_loops_avx2.cc', 'native/src/pool_loops_avx2.cc'],
          'cflags_cc': ['-mavx2', '-ffp-contract=off'],
          'xcode_settings': {'OTHER_CPLUSPLUSFLAGS': ['-mavx2', '-ffp-contract=off']},
          'msvs_settings': {'VCCLCompilerTool': {'EnableEnhancedInstructionSet': '5'}},  # /arch:AVX2
        },
        {
          'target_name': 'fvl_spans_avx512',
          'type': 'static_library',
          'sources': ['native/src/span_loops_avx512.cc', 'native/src/pool_loops_avx512.cc'],
          'cflags_cc': ['-mavx512f', '-ffp-contract=off'],
          'xcode_settings': {'OTHER_CPLUSPLUSFLAGS': ['-mavx512f', '-ffp-contract=off']},
          'msvs_settings': {'VCCLCompilerTool': {'AdditionalOptions': ['/arch:AVX512']}},
        },
      ],
    }],
  ],
}
