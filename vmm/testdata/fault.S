# fault: enter 32-bit protected mode with an empty IDT, then raise an
# exception: the CPU cannot deliver it and triple-faults, which the VMM must
# report as an error. (Real mode would not do: emulators there may vector
# through the IVT whatever the IDT limit.)
	.code16
	.globl fault
fault:
	lgdtl (0x1000 + (gdtr - fault))
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x08, $(0x1000 + (pm - fault))
	.code32
pm:	mov $0x10, %ax
	mov %ax, %ds
	lidt (0x1000 + (idtr - fault))
	ud2
	.p2align 3
gdt:	.quad 0
	.quad 0x00cf9a000000ffff	# 0x08: flat 32-bit code
	.quad 0x00cf92000000ffff	# 0x10: flat data
gdtr:	.word gdtr - gdt - 1
	.long 0x1000 + (gdt - fault)
idtr:	.word 0
	.long 0
