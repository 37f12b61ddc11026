;; A client of the aptkit wasm ABI (docs/abi.md) written against nothing but that ABI: it imports
;; the module's own memory and functions, places every buffer at or above heap_base(), packs A and
;; B from i32 codes, asks for the workspace, runs gemm, and exposes C and the packed bytes. Then it
;; repeats the product through gemm_views (view descriptors) and gemm_fused (stage descriptors).
;;
;; tests/abi-wabt.test.ts (through tests/wabt/wast.ts) instantiates this text once per case, after
;; replacing the ";; @operands" line with three passive data segments of little-endian i32 codes:
;; $a (the stored A, aRows x aCols), $b (the stored B, bRows x bCols), $bias (N codes), and runs the
;; result in wabt's spectest-interp. No JavaScript is involved.
;;
;; Functions returning (stage, status) report 0 0 on success; otherwise stage names the call that
;; failed and status is what it returned:
;;   1 pack A   2 pack B   3 gemm   4 memory.grow refused   5 unpack   6 codes differ after unpack
;;   7 gemm_views   8 gemm_fused   9 pack bias   10 C of gemm_views / gemm_fused STORE differs
(module
  (import "aptkit" "memory" (memory 1))
  (import "aptkit" "heap_base" (func $heap_base (result i32)))
  (import "aptkit" "packed_row_stride" (func $packed_row_stride (param i32 i32) (result i32)))
  (import "aptkit" "pack" (func $pack (param i32 i32 i32 i32 i32) (result i32)))
  (import "aptkit" "unpack" (func $unpack (param i32 i32 i32 i32 i32) (result i32)))
  (import "aptkit" "gemm_workspace_bytes" (func $gemm_workspace_bytes (param i32 i32 i32 i32 i32) (result i32)))
  (import "aptkit" "gemm_fused_workspace_bytes" (func $gemm_fused_workspace_bytes (param i32 i32 i32 i32 i32) (result i32)))
  (import "aptkit" "gemm"
    (func $gemm (param i32 i32 i32 i32 i32  i32 i32 i32 i32 i32  i32 i32 i32) (result i32)))
  (import "aptkit" "gemm_views" (func $gemm_views (param i32 i32 i32 i32 i32) (result i32)))
  (import "aptkit" "gemm_fused" (func $gemm_fused (param i32 i32 i32 i32 i32 i32) (result i32)))

  ;; The case: stored shapes and widths, op shapes.
  (global $aRows (mut i32) (i32.const 0)) (global $aCols (mut i32) (i32.const 0))
  (global $aBits (mut i32) (i32.const 0)) (global $transA (mut i32) (i32.const 0))
  (global $bRows (mut i32) (i32.const 0)) (global $bCols (mut i32) (i32.const 0))
  (global $bBits (mut i32) (i32.const 0)) (global $transB (mut i32) (i32.const 0))
  (global $M (mut i32) (i32.const 0)) (global $N (mut i32) (i32.const 0)) (global $K (mut i32) (i32.const 0))
  ;; Where everything lives (byte offsets into aptkit's memory).
  (global $aCodes (mut i32) (i32.const 0)) (global $bCodes (mut i32) (i32.const 0))
  (global $biasCodes (mut i32) (i32.const 0))
  (global $aPacked (mut i32) (i32.const 0)) (global $bPacked (mut i32) (i32.const 0))
  (global $biasPacked (mut i32) (i32.const 0))
  (global $viewA (mut i32) (i32.const 0)) (global $viewB (mut i32) (i32.const 0))
  (global $viewOut (mut i32) (i32.const 0)) (global $stage (mut i32) (i32.const 0))
  (global $c (mut i32) (i32.const 0)) (global $c2 (mut i32) (i32.const 0))
  (global $out (mut i32) (i32.const 0)) (global $outBytes (mut i32) (i32.const 0))
  (global $work (mut i32) (i32.const 0))
  (global $ws (mut i32) (i32.const 0)) (global $wsFused (mut i32) (i32.const 0))
  (global $scratch (mut i32) (i32.const 0))

  (func $align16 (param $x i32) (result i32)
    (i32.and (i32.add (local.get $x) (i32.const 15)) (i32.const -16)))

  (func $max (param $x i32) (param $y i32) (result i32)
    (select (local.get $x) (local.get $y) (i32.gt_u (local.get $x) (local.get $y))))

  ;; Grows aptkit's memory (from here: the module itself never grows it) until [0, end) exists.
  (func $reserve (param $end i32) (result i32)
    (local $need i32)
    (local.set $need (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then (return (i32.ne (memory.grow (i32.sub (local.get $need) (memory.size))) (i32.const -1)))))
    (i32.const 1))

  ;; Byte-wise equality of two ranges (C matrices compare bit for bit).
  (func $differs (param $x i32) (param $y i32) (param $n i32) (result i32)
    (local $i i32) (local $d i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $d (i32.add (local.get $d)
          (i32.ne (i32.load8_u (i32.add (local.get $x) (local.get $i)))
                  (i32.load8_u (i32.add (local.get $y) (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $d))

  ;; A PLAIN view descriptor (docs/abi.md "View descriptor"): 24 i32 fields, 96 bytes. Field 6
  ;; (stride) is the module's to fill in: a junk value here checks that it does.
  (func $plain_view (param $at i32) (param $base i32) (param $rows i32) (param $cols i32)
                    (param $bits i32) (param $trans i32)
    (memory.fill (local.get $at) (i32.const 0) (i32.const 96))
    (i32.store offset=0 (local.get $at) (i32.const 0))          ;; kind PLAIN
    (i32.store offset=4 (local.get $at) (local.get $base))
    (i32.store offset=8 (local.get $at) (local.get $bits))
    (i32.store offset=12 (local.get $at) (local.get $rows))
    (i32.store offset=16 (local.get $at) (local.get $cols))
    (i32.store offset=20 (local.get $at) (local.get $trans))
    (i32.store offset=24 (local.get $at) (i32.const 0x7fffffff)))

  (func $operand_views
    (call $plain_view (global.get $viewA) (global.get $aPacked)
      (global.get $aRows) (global.get $aCols) (global.get $aBits) (global.get $transA))
    (call $plain_view (global.get $viewB) (global.get $bPacked)
      (global.get $bRows) (global.get $bCols) (global.get $bBits) (global.get $transB)))

  ;; A stage descriptor (docs/abi.md "Stage descriptor"): i32 fields at bytes 0..47, f64 at 48..111.
  (func $write_stage (param $mode i32) (param $relu i32) (param $rounding i32)
                     (param $bias i32) (param $biasBits i32) (param $c i32)
                     (param $biasScale f64) (param $scale f64)
    (local $s i32)
    (local.set $s (global.get $stage))
    (memory.fill (local.get $s) (i32.const 0) (i32.const 112))
    (i32.store offset=0 (local.get $s) (local.get $mode))
    (i32.store offset=4 (local.get $s) (local.get $relu))
    (i32.store offset=8 (local.get $s) (local.get $rounding))
    ;; seed, step, stream (12, 16, 20) stay 0: only round-to-nearest is checked here.
    (i32.store offset=24 (local.get $s) (local.get $bias))
    (i32.store offset=28 (local.get $s) (local.get $biasBits))
    ;; offset 32 (out bits): 0 = STORE writes f64.
    (i32.store offset=36 (local.get $s) (local.get $c))
    (f64.store offset=48 (local.get $s) (local.get $biasScale))
    (f64.store offset=56 (local.get $s) (local.get $scale)))

  ;; Lays out and packs the operands, then C = op(A) op(B) through gemm. `skew` offsets the
  ;; workspace from a 16-byte boundary; `tight` passes the smallest workspace the ABI promises to
  ;; accept for any shape, gemm_workspace_bytes(4, 8, 2, aBits, bBits), instead of the default.
  (func (export "run")
    (param $aRows i32) (param $aCols i32) (param $aBits i32) (param $transA i32)
    (param $bRows i32) (param $bCols i32) (param $bBits i32) (param $transB i32)
    (param $skew i32) (param $tight i32)
    (result i32 i32)
    (local $p i32) (local $s i32) (local $aN i32) (local $bN i32)
    (global.set $aRows (local.get $aRows)) (global.set $aCols (local.get $aCols))
    (global.set $aBits (local.get $aBits)) (global.set $transA (local.get $transA))
    (global.set $bRows (local.get $bRows)) (global.set $bCols (local.get $bCols))
    (global.set $bBits (local.get $bBits)) (global.set $transB (local.get $transB))
    (global.set $M (select (local.get $aCols) (local.get $aRows) (local.get $transA)))
    (global.set $K (select (local.get $aRows) (local.get $aCols) (local.get $transA)))
    (global.set $N (select (local.get $bRows) (local.get $bCols) (local.get $transB)))
    (local.set $aN (i32.mul (local.get $aRows) (local.get $aCols)))
    (local.set $bN (i32.mul (local.get $bRows) (local.get $bCols)))

    ;; Everything from heap_base() up belongs to the caller.
    (local.set $p (call $align16 (call $heap_base)))
    (global.set $aCodes (local.get $p))
    (local.set $p (call $align16 (i32.add (local.get $p) (i32.shl (local.get $aN) (i32.const 2)))))
    (global.set $bCodes (local.get $p))
    (local.set $p (call $align16 (i32.add (local.get $p) (i32.shl (local.get $bN) (i32.const 2)))))
    (global.set $biasCodes (local.get $p))
    (local.set $p (call $align16 (i32.add (local.get $p) (i32.shl (global.get $N) (i32.const 2)))))
    ;; Packed buffers: rows * packed_row_stride(cols, bits) bytes.
    (global.set $aPacked (local.get $p))
    (local.set $p (call $align16 (i32.add (local.get $p)
      (i32.mul (local.get $aRows) (call $packed_row_stride (local.get $aCols) (local.get $aBits))))))
    (global.set $bPacked (local.get $p))
    (local.set $p (call $align16 (i32.add (local.get $p)
      (i32.mul (local.get $bRows) (call $packed_row_stride (local.get $bCols) (local.get $bBits))))))
    (global.set $biasPacked (local.get $p))
    (local.set $p (call $align16 (i32.add (local.get $p) (call $packed_row_stride (global.get $N) (i32.const 16)))))
    ;; Descriptors: three views (96 bytes each) and one stage (112 bytes).
    (global.set $viewA (local.get $p))
    (global.set $viewB (i32.add (local.get $p) (i32.const 96)))
    (global.set $viewOut (i32.add (local.get $p) (i32.const 192)))
    (global.set $stage (i32.add (local.get $p) (i32.const 288)))
    (local.set $p (i32.add (local.get $p) (i32.const 400)))
    ;; C: M * N * 8 bytes, f64 row-major; a second one for gemm_views / gemm_fused STORE.
    (global.set $c (local.get $p))
    (local.set $p (i32.add (local.get $p) (i32.shl (i32.mul (global.get $M) (global.get $N)) (i32.const 3))))
    (global.set $c2 (local.get $p))
    (local.set $p (i32.add (local.get $p) (i32.shl (i32.mul (global.get $M) (global.get $N)) (i32.const 3))))
    ;; The fused REQUANT output, reserved at the widest code.
    (global.set $out (local.get $p))
    (global.set $outBytes (i32.mul (global.get $M) (call $packed_row_stride (global.get $N) (i32.const 16))))
    (local.set $p (call $align16 (i32.add (local.get $p) (global.get $outBytes))))
    ;; Workspace.
    (if (local.get $tight)
      (then
        (global.set $ws (call $gemm_workspace_bytes (i32.const 4) (i32.const 8) (i32.const 2)
          (local.get $aBits) (local.get $bBits)))
        (global.set $wsFused (call $gemm_fused_workspace_bytes (i32.const 4) (i32.const 8) (i32.const 2)
          (local.get $aBits) (local.get $bBits))))
      (else
        (global.set $ws (call $gemm_workspace_bytes (global.get $M) (global.get $N) (global.get $K)
          (local.get $aBits) (local.get $bBits)))
        (global.set $wsFused (call $gemm_fused_workspace_bytes (global.get $M) (global.get $N) (global.get $K)
          (local.get $aBits) (local.get $bBits)))))
    (global.set $work (i32.add (local.get $p) (local.get $skew)))
    (local.set $p (i32.add (global.get $work) (call $max (global.get $ws) (global.get $wsFused))))
    (global.set $scratch (local.get $p))
    (local.set $p (i32.add (local.get $p) (i32.shl (call $max (local.get $aN) (local.get $bN)) (i32.const 2))))
    (if (i32.eqz (call $reserve (local.get $p))) (then (return (i32.const 4) (i32.const -1))))

    (memory.init $a (global.get $aCodes) (i32.const 0) (i32.shl (local.get $aN) (i32.const 2)))
    (memory.init $b (global.get $bCodes) (i32.const 0) (i32.shl (local.get $bN) (i32.const 2)))
    (memory.init $bias (global.get $biasCodes) (i32.const 0) (i32.shl (global.get $N) (i32.const 2)))

    (local.set $s (call $pack (global.get $aCodes) (local.get $aRows) (local.get $aCols) (local.get $aBits)
      (global.get $aPacked)))
    (if (local.get $s) (then (return (i32.const 1) (local.get $s))))
    (local.set $s (call $pack (global.get $bCodes) (local.get $bRows) (local.get $bCols) (local.get $bBits)
      (global.get $bPacked)))
    (if (local.get $s) (then (return (i32.const 2) (local.get $s))))

    ;; C holds junk before the call: gemm overwrites all of it.
    (memory.fill (global.get $c) (i32.const 0xa5) (i32.shl (i32.mul (global.get $M) (global.get $N)) (i32.const 3)))
    (local.set $s (call $gemm
      (global.get $aPacked) (local.get $aRows) (local.get $aCols) (local.get $aBits) (local.get $transA)
      (global.get $bPacked) (local.get $bRows) (local.get $bCols) (local.get $bBits) (local.get $transB)
      (global.get $c) (global.get $work) (global.get $ws)))
    (if (local.get $s) (then (return (i32.const 3) (local.get $s))))

    ;; unpack gives the codes back.
    (local.set $s (call $unpack (global.get $aPacked) (local.get $aRows) (local.get $aCols) (local.get $aBits)
      (global.get $scratch)))
    (if (local.get $s) (then (return (i32.const 5) (local.get $s))))
    (local.set $s (call $differs (global.get $scratch) (global.get $aCodes) (i32.shl (local.get $aN) (i32.const 2))))
    (if (local.get $s) (then (return (i32.const 6) (local.get $s))))
    (local.set $s (call $unpack (global.get $bPacked) (local.get $bRows) (local.get $bCols) (local.get $bBits)
      (global.get $scratch)))
    (if (local.get $s) (then (return (i32.const 5) (local.get $s))))
    (local.set $s (call $differs (global.get $scratch) (global.get $bCodes) (i32.shl (local.get $bN) (i32.const 2))))
    (if (local.get $s) (then (return (i32.const 6) (local.get $s))))
    (return (i32.const 0) (i32.const 0)))

  (func (export "c_at") (param $i i32) (result f64)
    (f64.load (i32.add (global.get $c) (i32.shl (local.get $i) (i32.const 3)))))
  (func (export "a_word") (param $i i32) (result i32)
    (i32.load (i32.add (global.get $aPacked) (i32.shl (local.get $i) (i32.const 2)))))
  (func (export "b_word") (param $i i32) (result i32)
    (i32.load (i32.add (global.get $bPacked) (i32.shl (local.get $i) (i32.const 2)))))
  (func (export "out_word") (param $i i32) (result i32)
    (i32.load (i32.add (global.get $out) (i32.shl (local.get $i) (i32.const 2)))))
  ;; Field f (i32) of view descriptor A (0) or B (1), as the module left it.
  (func (export "view_field") (param $which i32) (param $f i32) (result i32)
    (i32.load (i32.add (select (global.get $viewB) (global.get $viewA) (local.get $which))
                       (i32.shl (local.get $f) (i32.const 2)))))
  ;; f64 field f of the stage descriptor (byte 48 + 8f).
  (func (export "stage_f64") (param $f i32) (result f64)
    (f64.load offset=48 (i32.add (global.get $stage) (i32.shl (local.get $f) (i32.const 3)))))

  ;; The same product through gemm_views and two PLAIN descriptors; C2 must equal C bit for bit.
  (func (export "views") (result i32 i32)
    (local $s i32) (local $bytes i32)
    (local.set $bytes (i32.shl (i32.mul (global.get $M) (global.get $N)) (i32.const 3)))
    (call $operand_views)
    (memory.fill (global.get $c2) (i32.const 0x5a) (local.get $bytes))
    (local.set $s (call $gemm_views (global.get $viewA) (global.get $viewB) (global.get $c2)
      (global.get $work) (global.get $ws)))
    (if (local.get $s) (then (return (i32.const 7) (local.get $s))))
    (local.set $s (call $differs (global.get $c) (global.get $c2) (local.get $bytes)))
    (if (local.get $s) (then (return (i32.const 10) (local.get $s))))
    (return (i32.const 0) (i32.const 0)))

  ;; gemm_fused with a STORE stage (f64 C, no bias; `out` is not read: 0): C2 must equal C.
  (func (export "fused_store") (result i32 i32)
    (local $s i32) (local $bytes i32)
    (local.set $bytes (i32.shl (i32.mul (global.get $M) (global.get $N)) (i32.const 3)))
    (call $operand_views)
    (call $write_stage (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 0)
      (global.get $c2) (f64.const 0) (f64.const 1))
    (memory.fill (global.get $c2) (i32.const 0x5a) (local.get $bytes))
    (local.set $s (call $gemm_fused (global.get $viewA) (global.get $viewB) (i32.const 0) (global.get $stage)
      (global.get $work) (global.get $wsFused)))
    (if (local.get $s) (then (return (i32.const 8) (local.get $s))))
    (local.set $s (call $differs (global.get $c) (global.get $c2) (local.get $bytes)))
    (if (local.get $s) (then (return (i32.const 10) (local.get $s))))
    (return (i32.const 0) (i32.const 0)))

  ;; Packs the case's bias codes as a 1 x N row at biasBits (0: no bias); returns pack's status.
  (func $pack_bias (param $biasBits i32) (result i32)
    (if (i32.eqz (local.get $biasBits)) (then (return (i32.const 0))))
    (call $pack (global.get $biasCodes) (i32.const 1) (global.get $N) (local.get $biasBits)
      (global.get $biasPacked)))

  ;; gemm_fused MAXABS: max over C of |C + biasScale * bias| (of C + ... alone with relu) lands in
  ;; stage_f64(2); stage_f64(6) counts M*N.
  (func (export "fused_maxabs") (param $relu i32) (param $biasBits i32) (param $biasScale f64)
    (result i32 i32)
    (local $s i32)
    (local.set $s (call $pack_bias (local.get $biasBits)))
    (if (local.get $s) (then (return (i32.const 9) (local.get $s))))
    (call $operand_views)
    (call $write_stage (i32.const 1) (local.get $relu) (i32.const 1)
      (select (global.get $biasPacked) (i32.const 0) (local.get $biasBits)) (local.get $biasBits)
      (i32.const 0) (local.get $biasScale) (f64.const 1))
    (local.set $s (call $gemm_fused (global.get $viewA) (global.get $viewB) (i32.const 0) (global.get $stage)
      (global.get $work) (global.get $wsFused)))
    (if (local.get $s) (then (return (i32.const 8) (local.get $s))))
    (return (i32.const 0) (i32.const 0)))

  ;; gemm_fused REQUANT, round to nearest even: codes of (C + biasScale * bias) * scale, clamped,
  ;; ReLU'd, written as a PLAIN M x N view at outBits at `out` (read back with out_word);
  ;; stage_f64(4) counts the clamped codes.
  (func (export "fused_requant") (param $relu i32) (param $biasBits i32) (param $biasScale f64)
    (param $scale f64) (param $outBits i32)
    (result i32 i32)
    (local $s i32)
    (local.set $s (call $pack_bias (local.get $biasBits)))
    (if (local.get $s) (then (return (i32.const 9) (local.get $s))))
    (call $operand_views)
    (call $plain_view (global.get $viewOut) (global.get $out) (global.get $M) (global.get $N)
      (local.get $outBits) (i32.const 0))
    (memory.fill (global.get $out) (i32.const 0) (global.get $outBytes))
    (call $write_stage (i32.const 2) (local.get $relu) (i32.const 1)
      (select (global.get $biasPacked) (i32.const 0) (local.get $biasBits)) (local.get $biasBits)
      (i32.const 0) (local.get $biasScale) (local.get $scale))
    (local.set $s (call $gemm_fused (global.get $viewA) (global.get $viewB) (global.get $viewOut)
      (global.get $stage) (global.get $work) (global.get $wsFused)))
    (if (local.get $s) (then (return (i32.const 8) (local.get $s))))
    (return (i32.const 0) (i32.const 0)))

  ;; @operands
)
