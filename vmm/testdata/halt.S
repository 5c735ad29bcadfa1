# halt: print "h", then halt with interrupts off: only the VMM can end it.
	.code16
	.globl halt
halt:
	mov $0x3f8, %dx
	mov $'h', %al
	out %al, %dx
	cli
1:	hlt
	jmp 1b
