;; The documented return codes of pack, unpack, gemm_workspace_bytes and gemm (docs/abi.md
;; "Return codes"), called through the ABI alone. tests/abi-wabt.test.ts runs this module in wabt's
;; spectest-interp with one assert_return per export.
(module
  (import "aptkit" "memory" (memory 1))
  (import "aptkit" "heap_base" (func $heap_base (result i32)))
  (import "aptkit" "pack" (func $pack (param i32 i32 i32 i32 i32) (result i32)))
  (import "aptkit" "unpack" (func $unpack (param i32 i32 i32 i32 i32) (result i32)))
  (import "aptkit" "gemm_workspace_bytes" (func $gemm_workspace_bytes (param i32 i32 i32 i32 i32) (result i32)))
  (import "aptkit" "gemm"
    (func $gemm (param i32 i32 i32 i32 i32  i32 i32 i32 i32 i32  i32 i32 i32) (result i32)))

  ;; Caller-owned scratch: 16-aligned offsets above heap_base(); 1 KiB apart, well inside page 0.
  (func $at (param $k i32) (result i32)
    (i32.add (i32.and (i32.add (call $heap_base) (i32.const 15)) (i32.const -16))
             (i32.shl (local.get $k) (i32.const 10))))

  (func (export "pack_bits_1") (result i32)
    (call $pack (call $at (i32.const 0)) (i32.const 1) (i32.const 1) (i32.const 1) (call $at (i32.const 1))))
  (func (export "pack_bits_17") (result i32)
    (call $pack (call $at (i32.const 0)) (i32.const 1) (i32.const 1) (i32.const 17) (call $at (i32.const 1))))
  (func (export "unpack_bits_0") (result i32)
    (call $unpack (call $at (i32.const 0)) (i32.const 1) (i32.const 1) (i32.const 0) (call $at (i32.const 1))))

  ;; Codes [0, 7, 8, -8] at 4 bits (range -7..7): code 2 is the first bad one, so pack returns 3
  ;; and leaves dst as it was (second result: 1 when all 8 bytes of dst are still 0xee).
  (func (export "pack_out_of_range") (result i32 i32)
    (local $src i32) (local $dst i32) (local $s i32)
    (local.set $src (call $at (i32.const 0)))
    (local.set $dst (call $at (i32.const 1)))
    (i32.store offset=0 (local.get $src) (i32.const 0))
    (i32.store offset=4 (local.get $src) (i32.const 7))
    (i32.store offset=8 (local.get $src) (i32.const 8))
    (i32.store offset=12 (local.get $src) (i32.const -8))
    (memory.fill (local.get $dst) (i32.const 0xee) (i32.const 8))
    (local.set $s (call $pack (local.get $src) (i32.const 1) (i32.const 4) (i32.const 4) (local.get $dst)))
    (local.get $s)
    (i64.eq (i64.load (local.get $dst)) (i64.const 0xeeeeeeeeeeeeeeee)))

  ;; The most negative pattern -2^(bits-1) is not a code: [-8] at 4 bits -> 1.
  (func (export "pack_most_negative") (result i32)
    (i32.store (call $at (i32.const 0)) (i32.const -8))
    (call $pack (call $at (i32.const 0)) (i32.const 1) (i32.const 1) (i32.const 4) (call $at (i32.const 1))))

  (func (export "workspace_bits_1") (result i32)
    (call $gemm_workspace_bytes (i32.const 4) (i32.const 4) (i32.const 4) (i32.const 1) (i32.const 8)))
  (func (export "workspace_bits_17") (result i32)
    (call $gemm_workspace_bytes (i32.const 4) (i32.const 4) (i32.const 4) (i32.const 8) (i32.const 17)))

  ;; gemm on zero-filled packed operands at $at(1) and $at(2); C at $at(3); workspace at $at(4).
  (func $gemm_case (param $aRows i32) (param $aCols i32) (param $aBits i32)
                   (param $bRows i32) (param $bCols i32) (param $bBits i32) (param $workBytes i32)
                   (result i32)
    (memory.fill (call $at (i32.const 1)) (i32.const 0) (i32.const 2048))
    (call $gemm
      (call $at (i32.const 1)) (local.get $aRows) (local.get $aCols) (local.get $aBits) (i32.const 0)
      (call $at (i32.const 2)) (local.get $bRows) (local.get $bCols) (local.get $bBits) (i32.const 0)
      (call $at (i32.const 3)) (call $at (i32.const 4)) (local.get $workBytes)))

  (func (export "gemm_bits_1") (result i32)
    (call $gemm_case (i32.const 2) (i32.const 3) (i32.const 1) (i32.const 3) (i32.const 2) (i32.const 8) (i32.const 8192)))
  (func (export "gemm_bits_17") (result i32)
    (call $gemm_case (i32.const 2) (i32.const 3) (i32.const 8) (i32.const 3) (i32.const 2) (i32.const 17) (i32.const 8192)))
  ;; A 2x3 times B 4x2: K disagrees.
  (func (export "gemm_shape") (result i32)
    (call $gemm_case (i32.const 2) (i32.const 3) (i32.const 8) (i32.const 4) (i32.const 2) (i32.const 8) (i32.const 8192)))
  ;; 8 bytes of workspace is below any blocking.
  (func (export "gemm_workspace") (result i32)
    (call $gemm_case (i32.const 2) (i32.const 3) (i32.const 8) (i32.const 3) (i32.const 2) (i32.const 8) (i32.const 8)))

  ;; K = 0: no workspace is needed and C (2 x 3) is set to +0.0 (second result: 1 when it is).
  (func (export "gemm_k0") (result i32 i32)
    (local $s i32) (local $c i32)
    (local.set $c (call $at (i32.const 3)))
    (memory.fill (local.get $c) (i32.const 0x5a) (i32.const 48))
    (local.set $s (call $gemm_case (i32.const 2) (i32.const 0) (i32.const 8) (i32.const 0) (i32.const 3) (i32.const 8) (i32.const 0)))
    (local.get $s)
    (i32.and
      (i32.and (i64.eqz (i64.load offset=0 (local.get $c))) (i64.eqz (i64.load offset=8 (local.get $c))))
      (i32.and
        (i32.and (i64.eqz (i64.load offset=16 (local.get $c))) (i64.eqz (i64.load offset=24 (local.get $c))))
        (i32.and (i64.eqz (i64.load offset=32 (local.get $c))) (i64.eqz (i64.load offset=40 (local.get $c)))))))
)
