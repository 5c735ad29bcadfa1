# Tiny test guests for vmm's KVM tests (tier 2: they run on an emulated
# /dev/kvm, so each executes at most a few hundred instructions).
# Real mode, loaded at GPA 0x1000 with CS=0. Regenerate the byte arrays in
# guests_test.go with: go generate ./vmm  (needs binutils' as and objcopy).
	.code16

# hello: print "ember\n", the byte read from an unmapped port and from an
# unmapped MMIO address (both must read as 0xff), then reset via the i8042.
	.globl hello
hello:
	mov $0x3f8, %dx
	mov $0x1000 + (msg - hello), %si
1:	lodsb
	test %al, %al
	jz 2f
	out %al, %dx
	jmp 1b
2:	mov $0x1234, %dx	# no device here
	in %dx, %al
	mov $0x3f8, %dx
	out %al, %dx
	mov $0xffff, %ax	# linear 0xffff0 + 0x20 = 0x100010: above RAM
	mov %ax, %ds
	mov (0x20), %al
	out %al, %dx
	mov $0xfe, %al		# i8042: pulse the CPU reset line
	out %al, $0x64
	hlt
msg:	.asciz "ember\n"
