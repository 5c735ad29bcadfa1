# dots: print '.' forever (one PIO exit per dot); for pause/resume tests.
	.code16
	.globl dots
dots:
	mov $0x3f8, %dx
	mov $'.', %al
1:	out %al, %dx
	jmp 1b
